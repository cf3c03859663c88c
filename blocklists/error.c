#include "blocklists/error.h"

#include <errno.h>

const char *ward_strerror(int err)
{
	switch (err) {
	case WARD_OK: return "success";
	case WARD_EINVAL: return "invalid argument";
	case WARD_ENOMEM: return "out of memory or capacity";
	case WARD_EIO: return "input/output error";
	case WARD_EFORMAT: return "malformed data";
	case WARD_ENOTFOUND: return "not found";
	case WARD_ETOOBIG: return "size limit exceeded";
	case WARD_ETIMEDOUT: return "timed out";
	case WARD_EDB: return "database error";
	case WARD_EBUSY: return "busy";
	case WARD_ENET: return "network error";
	case WARD_ECONF: return "invalid configuration";
	case WARD_EREFUSED: return "refused";
	case WARD_ESTALE: return "stale";
	case WARD_EACCES: return "permission denied";
	case WARD_EROFS: return "read-only file system";
	case WARD_EADDRINUSE: return "address already in use";
	case WARD_EADDRNOTAVAIL: return "address not available on this host";
	case WARD_ENOSPC: return "no space left on device";
	}
	return "unknown error";
}

int ward_errno(int e)
{
	switch (e) {
	case 0: return 0;
	case EACCES:
	case EPERM: return WARD_EACCES;
	case EROFS: return WARD_EROFS;
	case EADDRINUSE: return WARD_EADDRINUSE;
	case EADDRNOTAVAIL: return WARD_EADDRNOTAVAIL;
	case ENOSPC:
	case EDQUOT: return WARD_ENOSPC;
	case ENOENT: return WARD_ENOTFOUND;
	case ENOMEM:
	case EMFILE:
	case ENFILE:
	case ENOBUFS: return WARD_ENOMEM;
	case EINVAL: return WARD_EINVAL;
	case EAGAIN: return WARD_EBUSY;
	case ETIMEDOUT: return WARD_ETIMEDOUT;
	case ENAMETOOLONG: return WARD_ETOOBIG;
	default: return WARD_EIO;
	}
}
