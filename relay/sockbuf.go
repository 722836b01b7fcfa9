package relay

import (
	"net"

	"golang.org/x/sys/unix"
)

// setBuffers gives c receive and send buffers of size bytes. As root it
// forces them past the net.core.rmem_max/wmem_max caps; otherwise the
// kernel caps them quietly. A smaller buffer only risks losses under
// bursts, so failures are ignored.
func setBuffers(c *net.UDPConn, size int) {
	raw, err := c.SyscallConn()
	if err == nil {
		forced := false
		_ = raw.Control(func(fd uintptr) {
			forced = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size) == nil &&
				unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, size) == nil
		})
		if forced {
			return
		}
	}
	_ = c.SetReadBuffer(size)
	_ = c.SetWriteBuffer(size)
}
