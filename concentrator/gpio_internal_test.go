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

// Every GPIO failure is an ErrGPIO, so the supervisor reports it as a GPIO
// problem, and still wraps its cause.
func TestGPIOErrors_AreErrGPIO(t *testing.T) {
	for _, cause := range []error{unix.EBUSY, gpiocdev.ErrPermissionDenied, fs.ErrNotExist, gpiocdev.ErrNotFound, errors.New("odd")} {
		err := gpioError("gpiochip9:17", "gpiochip9", 17, cause)
		if !errors.Is(err, ErrGPIO) || !errors.Is(err, cause) {
			t.Errorf("%v: ErrGPIO %v, cause %v", err, errors.Is(err, ErrGPIO), errors.Is(err, cause))
		}
	}
	_, _, err := RequestLine(LineSpec{Chip: "gpiochip97", Offset: 5}, 0, "")
	if err == nil {
		t.Skip("this machine has /dev/gpiochip97")
	}
	if !errors.Is(err, ErrGPIO) || !strings.Contains(err.Error(), "/dev/gpiochip97") || !strings.Contains(err.Error(), "line 5") {
		t.Errorf("missing chip: %v", err)
	}
}
