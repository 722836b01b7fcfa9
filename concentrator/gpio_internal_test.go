package concentrator

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/warthog618/go-gpiocdev"
	"golang.org/x/sys/unix"
)

// The GPIO errors name the device or line and the fix. (A busy line's
// holder is read from the chip; with no chip here it is "another program".)
func TestGPIOErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want []string
	}{
		{unix.EBUSY, []string{"GPIO 17 (gpiochip9 line 17) is busy", "held by another program", "unexport"}},
		{gpiocdev.ErrPermissionDenied, []string{"permission denied on /dev/gpiochip9", "gpio group", "privileged"}},
		{fs.ErrNotExist, []string{"/dev/gpiochip9 does not exist", "devices: [/dev/gpiochip9]", "RESET_GPIO"}},
		{gpiocdev.ErrNotFound, []string{"not found on any gpiochip", "gpioinfo"}},
	} {
		err := gpioError("17", "gpiochip9", 17, tc.err)
		if !errors.Is(err, tc.err) {
			t.Errorf("%v does not wrap %v", err, tc.err)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q lacks %q", err, w)
			}
		}
	}
}
