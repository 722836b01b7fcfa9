package concentrator

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/sys/unix"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"
	"periph.io/x/host/v3/sysfs"
)

// ProbeSpeed is the SPI clock for probing: the SX1302 HAL's 2 MHz, which
// the SX1301 (8 MHz in its HAL) handles too.
const ProbeSpeed = 2 * physic.MegaHertz

// Bus is an SPI bus as hm-pyhelper names it: "spidev0.0" for /dev/spidev0.0.
type Bus struct {
	Number, ChipSelect int
}

// ParseBus reads "spidev0.0", "/dev/spidev32766.0" or "0.0".
func ParseBus(s string) (Bus, error) {
	t := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "/dev/"), "spidev")
	var b Bus
	var rest string
	if n, _ := fmt.Sscanf(t, "%d.%d%s", &b.Number, &b.ChipSelect, &rest); n < 2 || rest != "" || b.Number < 0 || b.ChipSelect < 0 {
		return Bus{}, fmt.Errorf("SPI bus %q: want spidevB.C, e.g. spidev0.0 for /dev/spidev0.0", s)
	}
	return b, nil
}

// Name is the node name, "spidev0.0".
func (b Bus) Name() string { return fmt.Sprintf("spidev%d.%d", b.Number, b.ChipSelect) }

// Path is the device path, "/dev/spidev0.0".
func (b Bus) Path() string { return "/dev/" + b.Name() }

// OpenSPI opens the bus through the kernel's spidev driver in mode 0 at
// ProbeSpeed. Errors say how to fix the usual causes.
func OpenSPI(b Bus) (spi.Conn, io.Closer, error) {
	if _, err := os.Stat(b.Path()); err != nil {
		return nil, nil, SPIError(b, err)
	}
	port, err := sysfs.NewSPI(b.Number, b.ChipSelect)
	if err != nil {
		return nil, nil, SPIError(b, err)
	}
	c, err := port.Connect(ProbeSpeed, spi.Mode0, 8)
	if err != nil {
		port.Close()
		return nil, nil, fmt.Errorf("configure %s (mode 0, %s): %w", b.Path(), ProbeSpeed, err)
	}
	return c, port, nil
}

// ErrSPIMissing means the spidev node does not exist (yet).
var ErrSPIMissing = errors.New("SPI device missing")

// ErrUSBMissing means the USB concentrator's device node does not exist (yet).
var ErrUSBMissing = errors.New("USB device missing")

// CheckDevice tells whether the concentrator's device node is there and
// accessible, for when it is not probed (CHIP set, or USB): a missing
// device is then reported before the forwarder would fail on it.
func (h Hardware) CheckDevice() error {
	if h.USB {
		if err := accessible(h.USBDevice); err != nil {
			return USBError(h.USBDevice, err)
		}
		return nil
	}
	if err := accessible(h.Bus.Path()); err != nil {
		return SPIError(h.Bus, err)
	}
	return nil
}

// accessible checks that path exists and may be read and written, without
// opening it (opening a tty can toggle its modem lines).
func accessible(path string) error {
	if _, err := os.Stat(path); err != nil {
		return err
	}
	if err := unix.Access(path, unix.R_OK|unix.W_OK); err != nil {
		return &fs.PathError{Op: "access", Path: path, Err: err}
	}
	return nil
}

// USBError words an error on a USB concentrator's device for the person
// who must fix it.
func USBError(dev string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %s does not exist. Plug the concentrator in (a USB CoreCell appears as /dev/ttyACMn: `ls /dev/ttyACM*`), "+
			"set USB_DEVICE to its node and, in a container, map the device (devices: [%s]): %v", ErrUSBMissing, dev, dev, err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("permission denied on %s: run as root, add the user to the dialout group, or map the device into the container: %w", dev, err)
	}
	return fmt.Errorf("open %s: %w", dev, err)
}

// SPIError words an error opening the bus for the person who must fix it.
func SPIError(b Bus, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %s does not exist. Enable SPI (on a Raspberry Pi add dtparam=spi=on to /boot/config.txt, "+
			"or the board's SPI overlay) and, in a container, map the device (devices: [%s]); check SPI_BUS or VARIANT: %v",
			ErrSPIMissing, b.Path(), b.Path(), err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("permission denied on %s: run as root, add the user to the group owning it (often spi), "+
			"or run the container privileged: %w", b.Path(), err)
	}
	return fmt.Errorf("open %s: %w", b.Path(), err)
}
