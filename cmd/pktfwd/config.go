package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"pktfwd/internal/safefile"
	"pktfwd/supervisor"
)

// The configuration is read from a snapshot of the environment, never from
// the live one, and the environment is never changed. envconfig.Process
// reads only os.LookupEnv, so honouring aliases, hm-pktfwd's "False" and
// skipping an unparsable value (to report every problem at once) would
// mean os.Setenv/Unsetenv, which leaks into every child and races with any
// other reader. decodeEnv reads the same struct tags (envconfig, default)
// from a map instead; envconfig still prints the help table from them.
// What is kept from hm-pktfwd (aliases, "False", the VARIANT file) is in
// docs/configuration.md.

// aliases are older names that still set a variable: alias → name.
var aliases = map[string]string{
	"SX1301_DIR": "SX1301_LORA_PKT_FWD_DIR", "SENTRY_PKTFWD": "SENTRY_KEY", "BALENA_ID": "BALENA_DEVICE_UUID",
	"SX125x_RESET_PIN_OVERRIDE": "SX125X_RESET_PIN_OVERRIDE", // hm-pktfwd's spelling; envconfig looks names up in upper case
}

// unsetSpellings are hm-pktfwd's ways of writing "unset". They do not apply
// to on/off switches (bool fields), where false means off.
var unsetSpellings = map[string]bool{"": true, "False": true, "false": true, "None": true}

// variantFileLimit bounds the VARIANT file: a name is a few dozen bytes.
const variantFileLimit = 4096

// environ is a snapshot of the process environment.
func environ() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

// sources says where each value came from, so that messages name what the
// operator wrote.
type sources struct {
	setBy       map[string]string // variable → the name it was set by (itself or an alias)
	raw         map[string]string // variable → the value as written
	variantFile string            // the file VARIANT was read from, if it was
}

// name is the name variable was set by.
func (s sources) name(variable string) string {
	if n, ok := s.setBy[variable]; ok {
		return n
	}
	return variable
}

// attribute renames each error to the name the operator set, with the
// value as written, and points VARIANT errors at the file it came from.
func (s sources) attribute(errs supervisor.ConfigErrors) supervisor.ConfigErrors {
	out := make(supervisor.ConfigErrors, len(errs))
	for i, e := range errs {
		if raw, ok := s.raw[e.Variable]; ok {
			e = supervisor.NewConfigError(e.Variable, raw, e.Reason)
		}
		if e.Variable == "VARIANT" && s.variantFile != "" {
			e.Reason += " (VARIANT was read from " + s.variantFile + ")"
		}
		e.Variable = s.name(e.Variable)
		out[i] = e
	}
	return out
}

// invalidConfig is a configuration that cannot run: exit code 2. logged
// says the errors were already printed as log lines.
type invalidConfig struct {
	errs   supervisor.ConfigErrors
	logged bool
}

func (e *invalidConfig) Error() string {
	return "configuration (see `pktfwd help`):\n  " + strings.ReplaceAll(e.errs.Error(), "\n", "\n  ")
}

func (e *invalidConfig) Unwrap() []error {
	if e.logged {
		return []error{errUsage, e.errs, errLogged}
	}
	return []error{errUsage, e.errs}
}

// loadConfig fills a Config from env and validates it. The error, if any,
// is an *invalidConfig holding every problem, each naming the variable as
// the operator set it, in the order of the Config fields. The Config is
// filled as far as it could be, so that its log settings and file paths
// can be used to report the failure.
func loadConfig(env map[string]string) (supervisor.Config, sources, error) {
	c, src, errs := decodeEnv(env)
	var invalid supervisor.ConfigErrors
	if err := c.Validate(); err != nil && !errors.As(err, &invalid) {
		panic(fmt.Sprintf("Config.Validate returned %T, want ConfigErrors", err))
	}
	errs = append(errs, invalid...)
	if reason := checkSentryKey(c.SentryKey); reason != "" {
		errs = append(errs, supervisor.NewConfigError("SENTRY_KEY", c.SentryKey, reason))
	}
	if len(errs) == 0 {
		return c, src, nil
	}
	errs.Sort()
	return c, src, &invalidConfig{errs: src.attribute(errs)}
}

// decodeEnv fills a Config from env without validating it: each variable,
// else its alias, else its default; a value that does not parse is an
// error and the default is used instead. When VARIANT is unset it is read
// from the file VARIANT in NEBRA_ENVVARS_DIR, as hm-pktfwd did. The errors
// name the variables, not yet their aliases (see sources.attribute).
func decodeEnv(env map[string]string) (supervisor.Config, sources, supervisor.ConfigErrors) {
	var c supervisor.Config
	src := sources{setBy: map[string]string{}, raw: map[string]string{}}
	var errs supervisor.ConfigErrors
	v := reflect.ValueOf(&c).Elem()
	for _, f := range reflect.VisibleFields(v.Type()) {
		name := f.Tag.Get("envconfig")
		if name == "" || !f.IsExported() {
			continue
		}
		dst := v.FieldByIndex(f.Index)
		isSwitch := dst.Kind() == reflect.Bool
		setBy, raw, ok := lookup(env, name, isSwitch)
		if ok {
			src.setBy[name], src.raw[name] = setBy, raw
			err := decodeValue(dst, raw)
			if err == nil {
				continue
			}
			errs = append(errs, supervisor.NewConfigError(name, raw, err.Error()))
		}
		if def, ok := f.Tag.Lookup("default"); ok {
			if err := decodeValue(dst, def); err != nil {
				panic(fmt.Sprintf("the default of %s, %q: %v", name, def, err))
			}
		}
	}
	// hm-pktfwd sent to multiplexer:1681, a fixed destination; with no
	// SERVER_* set, the supervisor does so too where that name resolves.
	_, addr := src.setBy["SERVER_ADDRESS"]
	_, up := src.setBy["SERVER_PORT_UP"]
	_, down := src.setBy["SERVER_PORT_DOWN"]
	c.ServerAuto = !addr && !up && !down
	if c.Variant == "" {
		if err := readVariantFile(&c, &src); err != nil {
			errs = append(errs, supervisor.NewConfigError("VARIANT", "", "not set, and "+err.Error()))
		}
	}
	return c, src, errs
}

// lookup finds the value of variable name, or of an alias of it. Blank
// values and hm-pktfwd's spellings of "unset" count as unset, except for
// switches.
func lookup(env map[string]string, name string, isSwitch bool) (setBy, value string, ok bool) {
	names := []string{name}
	for alias, target := range aliases {
		if target == name {
			names = append(names, alias)
		}
	}
	sort.Strings(names[1:])
	for _, n := range names {
		v, set := env[n]
		if !set || strings.TrimSpace(v) == "" || !isSwitch && unsetSpellings[strings.TrimSpace(v)] {
			continue
		}
		return n, v, true
	}
	return "", "", false
}

// decodeValue parses s into the field dst by its type.
func decodeValue(dst reflect.Value, s string) error {
	t := strings.TrimSpace(s)
	switch dst.Interface().(type) {
	case time.Duration:
		d, err := parseSeconds(t)
		if err != nil {
			return err
		}
		dst.SetInt(int64(d))
		return nil
	}
	switch dst.Kind() {
	case reflect.String:
		dst.SetString(s)
	case reflect.Int:
		n, err := strconv.Atoi(t)
		if err != nil {
			return errors.New("want a whole number")
		}
		dst.SetInt(int64(n))
	case reflect.Float64:
		x, err := strconv.ParseFloat(t, 64)
		if err != nil {
			return errors.New("want a number of seconds such as 5 or 0.5")
		}
		dst.SetFloat(x)
	case reflect.Bool:
		b, err := strconv.ParseBool(t)
		if err != nil {
			return errors.New("want true or false")
		}
		dst.SetBool(b)
	default:
		panic(fmt.Sprintf("pktfwd cannot read a %s from the environment", dst.Type()))
	}
	return nil
}

// parseSeconds reads a time as plain seconds (60, 0.5), as every other
// timing variable is written, or as a Go duration (1m, 500ms).
func parseSeconds(s string) (time.Duration, error) {
	const want = "want seconds such as 60 or 0.5, or a duration such as 1m or 500ms"
	if x, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(x) || math.Abs(x) > float64(math.MaxInt64)/float64(time.Second) {
			return 0, errors.New(want)
		}
		return time.Duration(x * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, errors.New(want)
	}
	return d, nil
}

// readVariantFile sets VARIANT from NEBRA_ENVVARS_DIR/VARIANT if that file
// exists. A missing file is no error: VARIANT stays unset.
func readVariantFile(c *supervisor.Config, src *sources) error {
	path := filepath.Join(c.NebraEnvvarsDir, "VARIANT")
	b, err := safefile.Read(path, variantFileLimit)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if v := strings.TrimSpace(string(b)); !unsetSpellings[v] {
		c.Variant, src.variantFile = v, path
		src.raw["VARIANT"] = v
	}
	return nil
}

// newLogger applies LOGLEVEL and LOG_FORMAT.
func newLogger(c supervisor.Config, out io.Writer) *logrus.Logger {
	l := logrus.New()
	l.SetOutput(out)
	if lvl, err := supervisor.ParseLogLevel(c.LogLevel); err == nil {
		l.SetLevel(lvl)
	}
	if strings.EqualFold(c.LogFormat, "json") {
		l.SetFormatter(&logrus.JSONFormatter{})
	} else {
		l.SetFormatter(&logrus.TextFormatter{FullTimestamp: true})
	}
	return l
}

// logConfigErrors prints err's configuration errors as log lines, one per
// error with the fields variable, value and reason, when LOG_FORMAT is
// json; then the error is marked as printed. Text logs keep the plain
// list, which main prints.
func logConfigErrors(c supervisor.Config, err error) error {
	var invalid *invalidConfig
	if !strings.EqualFold(c.LogFormat, "json") || !errors.As(err, &invalid) {
		return err
	}
	log := newLogger(c, os.Stderr)
	if log.Level < logrus.ErrorLevel { // LOGLEVEL=CRITICAL must not hide why nothing runs
		log.SetLevel(logrus.ErrorLevel)
	}
	for _, e := range invalid.errs {
		log.WithFields(logrus.Fields{"variable": e.Variable, "value": e.Value, "reason": e.Reason}).Error("configuration error")
	}
	return &invalidConfig{errs: invalid.errs, logged: true}
}
