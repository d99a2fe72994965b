/* Device options of the hopx-vmm command line (see cli_devices.h). */
#include "cli_devices.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"

static int bad(const char *opt, const char *what)
{
	pr_err("%s: %s: see hopx-vmm --help", opt, what);
	return -EINVAL;
}

int cli_parse_drive(char *arg, struct hopx_vm_config *cfg)
{
	enum { PATH, RO, ID, DIRECT };
	char *const keys[] = { [PATH] = "path", [RO] = "ro", [ID] = "id", [DIRECT] = "direct", NULL };
	struct hopx_drive_config d = { 0 };
	char *val;

	if (cfg->ndrives >= HOPX_MAX_DRIVES)
		return bad("--drive", "too many drives (at most 8)");
	while (*arg) {
		switch (getsubopt(&arg, keys, &val)) {
		case PATH:
			if (!val || !*val)
				return bad("--drive", "path= needs a file");
			d.path = val;
			break;
		case RO:
			d.read_only = true;
			break;
		case ID:
			if (!val || !*val || strlen(val) > 20)
				return bad("--drive", "id= takes 1 to 20 characters");
			d.id = val;
			break;
		case DIRECT:
			d.direct = true;
			break;
		default:
			pr_err("--drive: unknown or malformed item '%s': expected path=P[,ro][,id=ID][,direct]", val);
			return -EINVAL;
		}
	}
	if (!d.path)
		return bad("--drive", "path=IMAGE is required");
	cfg->drives[cfg->ndrives++] = d;
	return 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char end;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) != 6 ||
	    strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	if (mac[0] & 1) /* a multicast address cannot be a NIC's */
		return -EINVAL;
	return 0;
}

int cli_parse_net(char *arg, struct hopx_vm_config *cfg)
{
	enum { TAP, MAC };
	char *const keys[] = { [TAP] = "tap", [MAC] = "mac", NULL };
	struct hopx_net_config n = { 0 };
	char *val;

	if (cfg->nnets >= HOPX_MAX_NETS)
		return bad("--net", "too many interfaces (at most 4)");
	while (*arg) {
		switch (getsubopt(&arg, keys, &val)) {
		case TAP:
			if (!val || !*val || strlen(val) >= 16)
				return bad("--net", "tap= takes an interface name of 1 to 15 characters");
			n.tap = val;
			break;
		case MAC:
			if (!val || parse_mac(val, n.mac))
				return bad("--net", "mac= takes a unicast MAC like 02:00:00:00:00:01");
			n.mac_set = true;
			break;
		default:
			pr_err("--net: unknown or malformed item '%s': expected tap=NAME[,mac=MAC]", val);
			return -EINVAL;
		}
	}
	if (!n.tap)
		return bad("--net", "tap=NAME is required");
	cfg->nets[cfg->nnets++] = n;
	return 0;
}

int cli_parse_vsock(char *arg, struct hopx_vm_config *cfg)
{
	enum { CID, UDS };
	char *const keys[] = { [CID] = "cid", [UDS] = "uds", NULL };
	struct hopx_vsock_config v = { 0 };
	char *val, *end;
	unsigned long cid;

	if (cfg->vsock.cid)
		return bad("--vsock", "given twice (one vsock device per VM)");
	while (*arg) {
		switch (getsubopt(&arg, keys, &val)) {
		case CID:
			errno = 0;
			cid = val ? strtoul(val, &end, 10) : 0;
			/* 0-2 are reserved (hypervisor, local, host); -1U is VMADDR_CID_ANY. */
			if (!val || errno || *end || cid < 3 || cid >= 0xffffffffUL)
				return bad("--vsock", "cid= takes a number from 3 to 4294967294");
			v.cid = (uint32_t)cid;
			break;
		case UDS:
			if (!val || !*val || strlen(val) > 100)
				return bad("--vsock", "uds= takes a socket path of at most 100 bytes");
			v.uds_path = val;
			break;
		default:
			pr_err("--vsock: unknown or malformed item '%s': expected cid=N,uds=PATH", val);
			return -EINVAL;
		}
	}
	if (!v.cid || !v.uds_path)
		return bad("--vsock", "cid=N and uds=PATH are both required");
	cfg->vsock = v;
	return 0;
}
