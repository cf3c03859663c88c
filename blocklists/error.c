#include "blocklists/error.h"

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
	}
	return "unknown error";
}
