// The official JavaScript SDK (@hopx-ai/sdk 0.5.1, from npm) against hopxd,
// unchanged, with baseURL pointed at it: the session of hopx-api.md §6 —
// create, run code, files, a command, list, pause, resume, run code again,
// a WebSocket stream, kill. usage: node sdk_node.js BASE_URL API_KEY
// (NODE_PATH must hold @hopx-ai/sdk).
const assert = require('assert');
const { Sandbox } = require('@hopx-ai/sdk');

const [baseURL, apiKey] = process.argv.slice(2);

(async () => {
  const health = await Sandbox.healthCheck(baseURL);
  assert.strictEqual(health.status, 'ok');
  const sb = await Sandbox.create({ template: 'code-interpreter', apiKey, baseURL, timeoutSeconds: 600 });
  try {
    let r = await sb.runCode('print(1+1)');
    assert.strictEqual(r.stdout, '2\n');
    assert.strictEqual(r.success, true);
    r = await sb.runCode('import matplotlib.pyplot as plt\nplt.plot([1, 2])\n7');
    assert.strictEqual(r.richOutputs[0].type, 'image/png');
    assert.ok(Buffer.from(r.png, 'base64').subarray(0, 4).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47])));
    await sb.files.write('/workspace/e2e hello.txt', 'from node\n');
    assert.strictEqual(await sb.files.read('/workspace/e2e hello.txt'), 'from node\n');
    const c = await sb.commands.run("cat '/workspace/e2e hello.txt' | wc -l");
    assert.strictEqual(c.stdout, '1\n');
    const listed = await Sandbox.list({ apiKey, baseURL });
    assert.ok(listed.some((s) => s.sandboxId === sb.sandboxId));
    await sb.pause();
    assert.strictEqual((await sb.getInfo()).status, 'paused');
    await sb.resume();
    assert.strictEqual((await sb.getInfo()).status, 'running');
    r = await sb.runCode("print(open('/workspace/e2e hello.txt').read(), end='')");
    assert.strictEqual(r.stdout, 'from node\n');
    const frames = [];
    for await (const m of sb.runCodeStream("print('streamed')")) frames.push(m);
    assert.ok(frames.some((m) => m.type === 'stdout' && m.data === 'streamed\n'), JSON.stringify(frames));
    await sb.env.set('NODE_VAR', 'n1');
    assert.strictEqual(await sb.env.get('NODE_VAR'), 'n1');
  } finally {
    await sb.kill();
  }
  let gone = false;
  try {
    await sb.getInfo();
  } catch (e) {
    gone = e.name === 'SandboxExpiredError';
  }
  assert.ok(gone, 'a killed sandbox reads as expired');
  console.log('node SDK: the whole session passed');
})().catch((e) => {
  console.error('node SDK:', e && e.stack ? e.stack : e);
  process.exit(1);
});
