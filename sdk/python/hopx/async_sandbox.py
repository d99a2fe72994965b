"""AsyncSandbox: the Sandbox API for asyncio. Each call runs the blocking
client in a worker thread (asyncio.to_thread), so the event loop never
blocks on a sandbox."""
import asyncio
import functools

from .sandbox import Sandbox


def _in_thread(attr):
    """ATTR itself if it is not callable, else a coroutine function running it in a thread."""
    if not callable(attr):
        return attr

    @functools.wraps(attr)
    async def call(*a, **kw):
        return await asyncio.to_thread(attr, *a, **kw)
    return call


class _AsyncResource:
    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, name):
        return _in_thread(getattr(self._inner, name))


class AsyncSandbox:
    def __init__(self, sandbox):
        self._sync = sandbox
        self.sandbox_id = sandbox.sandbox_id
        self.files = _AsyncResource(sandbox.files)
        self.commands = _AsyncResource(sandbox.commands)
        self.env = _AsyncResource(sandbox.env)

    @classmethod
    async def create(cls, *a, **kw):
        return cls(await asyncio.to_thread(Sandbox.create, *a, **kw))

    @classmethod
    async def connect(cls, *a, **kw):
        return cls(await asyncio.to_thread(Sandbox.connect, *a, **kw))

    @classmethod
    async def list(cls, *a, **kw):
        return await asyncio.to_thread(Sandbox.list, *a, **kw)

    @classmethod
    async def list_templates(cls, *a, **kw):
        return await asyncio.to_thread(Sandbox.list_templates, *a, **kw)

    @classmethod
    async def get_template(cls, *a, **kw):
        return await asyncio.to_thread(Sandbox.get_template, *a, **kw)

    @classmethod
    async def health_check(cls, *a, **kw):
        return await asyncio.to_thread(Sandbox.health_check, *a, **kw)

    def __getattr__(self, name):
        return _in_thread(getattr(self._sync, name))

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await asyncio.to_thread(self._sync.__exit__, *exc)
