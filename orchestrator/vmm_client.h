/* vmm_client.c: hopxd's client of a hopx-vmm's control API (its Unix
 * socket, Firecracker's API: PATCH /vm, PUT /snapshot/create). */
#ifndef HOPXD_VMM_CLIENT_H
#define HOPXD_VMM_CLIENT_H

/* METHOD PATH with the JSON BODY to the VMM behind API_SOCK; its HTTP
 * status in *STATUS (0: no answer). Failures are logged. */
void vmm_api(const char *api_sock, const char *method, const char *path, const char *body, int *status);
/* Pause the VM behind API_SOCK and write its snapshot to STATE and MEM. -EIO. */
int vmm_snapshot(const char *api_sock, const char *state, const char *mem);
/* Let the paused VM behind API_SOCK run again. */
void vmm_resume(const char *api_sock);

#endif
