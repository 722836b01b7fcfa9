package concentrator

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/warthog618/go-gpiocdev"
	"golang.org/x/sys/unix"
)

// Consumer is the name pktfwd's GPIO requests carry; `gpioinfo` shows it.
const Consumer = "pktfwd"

// LineSpec names a GPIO line: a chip and offset, a line name, or a legacy
// global number as hm-pyhelper's RESET and the sysfs interface used.
type LineSpec struct {
	Chip   string // "gpiochip0"; empty when by name or global number
	Offset int
	Name   string // a line name, e.g. "GPIO17", when set
	Global int    // legacy global number, when Chip and Name are empty
}

// ParseLineSpec reads "gpiochip0:17", "/dev/gpiochip0:17", "gpiochip0:GPIO17",
// a line name such as "GPIO17", or a bare legacy global number such as "17".
func ParseLineSpec(s string) (LineSpec, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return LineSpec{}, errors.New("empty GPIO line: want gpiochipN:LINE, a line name, or a global number")
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 {
			return LineSpec{}, fmt.Errorf("GPIO %q: a global number cannot be negative", s)
		}
		return LineSpec{Global: n}, nil
	}
	chip, line, found := strings.Cut(s, ":")
	if !found {
		if strings.ContainsAny(s, "/ \t") {
			return LineSpec{}, fmt.Errorf("GPIO %q: want gpiochipN:LINE, a line name, or a global number", s)
		}
		return LineSpec{Name: s}, nil
	}
	chip = strings.TrimPrefix(chip, "/dev/")
	if _, err := strconv.Atoi(strings.TrimPrefix(chip, "gpiochip")); err != nil || !strings.HasPrefix(chip, "gpiochip") {
		return LineSpec{}, fmt.Errorf("GPIO %q: chip %q is not gpiochipN", s, chip)
	}
	if off, err := strconv.Atoi(line); err == nil && off >= 0 {
		return LineSpec{Chip: chip, Offset: off}, nil
	}
	if line == "" || strings.ContainsAny(line, "/ \t") {
		return LineSpec{}, fmt.Errorf("GPIO %q: line %q is neither an offset nor a name", s, line)
	}
	return LineSpec{Chip: chip, Name: line}, nil
}

func (s LineSpec) String() string {
	switch {
	case s.Chip != "" && s.Name != "":
		return s.Chip + ":" + s.Name
	case s.Chip != "":
		return fmt.Sprintf("%s:%d", s.Chip, s.Offset)
	case s.Name != "":
		return s.Name
	}
	return fmt.Sprintf("global GPIO %d", s.Global)
}

// ChipRange is one gpiochip's place in the legacy global numbering.
type ChipRange struct {
	Chip       string // gpiochipN, the character device
	Base, Size int
}

// ChipRanges reads each chip's base and line count from
// sysRoot/class/gpio/gpiochip*/ (sysRoot is "/sys" outside tests).
func ChipRanges(sysRoot string) ([]ChipRange, error) {
	dirs, err := filepath.Glob(filepath.Join(sysRoot, "class", "gpio", "gpiochip*"))
	if err != nil || len(dirs) == 0 {
		return nil, fmt.Errorf("no gpiochip under %s/class/gpio (no GPIO on this machine, /sys not mounted, or a kernel without CONFIG_GPIO_SYSFS): "+
			"set RESET_GPIO=gpiochipN:LINE instead of a global number, or RESET_GPIO=%s when the concentrator has no reset line", sysRoot, NoReset)
	}
	var rs []ChipRange
	for _, d := range dirs {
		base, err1 := readInt(filepath.Join(d, "base"))
		size, err2 := readInt(filepath.Join(d, "ngpio"))
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		devs, _ := filepath.Glob(filepath.Join(d, "device", "gpiochip*"))
		if len(devs) == 0 {
			continue // a chip without a character device cannot be requested
		}
		rs = append(rs, ChipRange{Chip: filepath.Base(devs[0]), Base: base, Size: size})
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].Base < rs[j].Base })
	return rs, nil
}

// MapGlobal maps a legacy global GPIO number to a chip and offset. Numbers
// below the lowest base are read as relative to a base of 0, as they were
// before kernels moved the numbering (e.g. to 512 on recent Raspberry Pi
// kernels), so hm-pyhelper's RESET values keep working; how says which
// rule applied, for the log.
func MapGlobal(ranges []ChipRange, n int) (chip string, offset int, how string, err error) {
	find := func(g int) (ChipRange, bool) {
		for _, r := range ranges {
			if g >= r.Base && g < r.Base+r.Size {
				return r, true
			}
		}
		return ChipRange{}, false
	}
	if r, ok := find(n); ok {
		return r.Chip, n - r.Base, fmt.Sprintf("global GPIO %d is %s line %d (base %d)", n, r.Chip, n-r.Base, r.Base), nil
	}
	if len(ranges) > 0 && n < ranges[0].Base {
		moved := n + ranges[0].Base
		if r, ok := find(moved); ok {
			return r.Chip, moved - r.Base, fmt.Sprintf("global GPIO %d is %s line %d: this kernel numbers GPIOs from %d, so %d is read as %d",
				n, r.Chip, moved-r.Base, ranges[0].Base, n, moved), nil
		}
	}
	var have []string
	for _, r := range ranges {
		have = append(have, fmt.Sprintf("%s %d-%d", r.Chip, r.Base, r.Base+r.Size-1))
	}
	return "", 0, "", fmt.Errorf("global GPIO %d is on no gpiochip (this board has %s): check VARIANT or RESET_PIN, or set RESET_GPIO=gpiochipN:LINE",
		n, strings.Join(have, ", "))
}

func readInt(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}

// Line is an output line the reset sequences drive. *gpiocdev.Line is the
// real one; SimLine records what a test or the demo drove.
type Line interface {
	SetValue(v int) error
	Close() error
}

var _ Line = (*gpiocdev.Line)(nil)

// RequestLine resolves spec and requests the line as an output at initial,
// with the Consumer name, through the GPIO character device. how describes
// the resolution, for one log line.
func RequestLine(spec LineSpec, initial int, sysRoot string) (l Line, how string, err error) {
	chip, offset := spec.Chip, spec.Offset
	switch {
	case spec.Chip == "" && spec.Name != "":
		chip, offset, err = gpiocdev.FindLine(spec.Name)
		how = fmt.Sprintf("line %s is %s line %d", spec.Name, chip, offset)
	case spec.Name != "":
		offset, err = findOnChip(chip, spec.Name)
		how = fmt.Sprintf("line %s is %s line %d", spec, chip, offset)
	case spec.Chip == "":
		var ranges []ChipRange
		if ranges, err = ChipRanges(sysRoot); err == nil {
			chip, offset, how, err = MapGlobal(ranges, spec.Global)
		}
	default:
		how = fmt.Sprintf("%s line %d", chip, offset)
	}
	if err != nil {
		return nil, "", gpioError(spec.String(), chip, offset, err)
	}
	line, err := gpiocdev.RequestLine(chip, offset, gpiocdev.AsOutput(initial), gpiocdev.WithConsumer(Consumer))
	if err != nil {
		return nil, "", gpioError(spec.String(), chip, offset, err)
	}
	return line, how, nil
}

func findOnChip(chip, name string) (int, error) {
	c, err := gpiocdev.NewChip(chip)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.FindLine(name)
}

// ErrGPIO marks every GPIO failure (chip missing, line busy, permission
// denied, line unknown), so callers can tell it from an SPI or USB problem.
var ErrGPIO = errors.New("GPIO problem")

// gpioErr is a worded GPIO failure: errors.Is finds ErrGPIO and the cause.
type gpioErr struct{ error }

func (e gpioErr) Is(target error) bool { return target == ErrGPIO }
func (e gpioErr) Unwrap() error        { return errors.Unwrap(e.error) }

// gpioError words a GPIO failure with its fix, naming the chip and line; a
// busy line names its holder. It is an ErrGPIO.
func gpioError(spec, chip string, offset int, err error) error {
	dev := "/dev/" + chip
	switch {
	case errors.Is(err, unix.EBUSY):
		holder := "another program"
		if c, cerr := gpiocdev.NewChip(chip); cerr == nil {
			if info, ierr := c.LineInfo(offset); ierr == nil && info.Consumer != "" {
				holder = fmt.Sprintf("%q", info.Consumer)
			}
			c.Close()
		}
		err = fmt.Errorf("GPIO %s (%s line %d) is busy, held by %s: stop it (an old reset_lgw.sh export? `echo N > /sys/class/gpio/unexport`) or pick another line: %w",
			spec, chip, offset, holder, err)
	case errors.Is(err, gpiocdev.ErrPermissionDenied), errors.Is(err, fs.ErrPermission):
		err = fmt.Errorf("permission denied on %s for GPIO %s (line %d): run as root, add the user to the gpio group, or map the device / run the container privileged: %w", dev, spec, offset, err)
	case errors.Is(err, fs.ErrNotExist):
		err = fmt.Errorf("%s does not exist (GPIO %s, line %d): in a container map it (devices: [%s]); check RESET_GPIO or VARIANT (RESET_GPIO=%s: no reset line): %w", dev, spec, offset, dev, NoReset, err)
	case errors.Is(err, gpiocdev.ErrNotFound):
		err = fmt.Errorf("GPIO line %s not found on any gpiochip (`gpioinfo` lists the names): %w", spec, err)
	case chip == "":
		err = fmt.Errorf("%s: %w", spec, err)
	default:
		err = fmt.Errorf("GPIO %s (%s line %d): %w", spec, chip, offset, err)
	}
	return gpioErr{err}
}
