/* Parsing of hopx-vmm's device options (--drive, --net, --vsock) into
 * libhopxvmm's config, with getsubopt(3). Each returns 0 or -EINVAL after
 * logging what is wrong with the option. ARG is modified and must outlive
 * the config (it is argv). */
#ifndef HOPX_CLI_DEVICES_H
#define HOPX_CLI_DEVICES_H

#include "../include/hopx/vmm.h"

/* --drive path=P[,ro][,id=ID][,direct] */
int cli_parse_drive(char *arg, struct hopx_vm_config *cfg);
/* --net tap=NAME[,mac=MAC] */
int cli_parse_net(char *arg, struct hopx_vm_config *cfg);
/* --vsock cid=N,uds=PATH */
int cli_parse_vsock(char *arg, struct hopx_vm_config *cfg);

#endif
