#include "resolver/uv_error.h"

#include <uv.h>

#include "blocklists/error.h"

int ward_uv_err(int rc)
{
	if (rc >= 0)
		return 0;
	if (rc == UV_ENOMEM)
		return WARD_ENOMEM;
	if (rc == UV_ETIMEDOUT)
		return WARD_ETIMEDOUT;
	/* libuv's own codes are -3000 (UV__EAI_ADDRFAMILY) and below; errno values are small. */
	if (rc <= -3000)
		return WARD_EIO;
	return ward_errno(-rc);
}
