package supervisor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"pktfwd/configs"
	"pktfwd/internal/safefile"
	"pktfwd/regions"
	"pktfwd/scripts"
)

// writeConfig renders the config for the region and the detected chip and
// writes it into ROOT_DIR atomically, only where it changed. On any error
// nothing is written, so the last good config stays in place.
func (s *Supervisor) writeConfig(region regionUpdate) error {
	files, source, err := s.render(region)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.cfg.RootDir, 0o755); err != nil {
		return fmt.Errorf("ROOT_DIR %s: %w", s.cfg.RootDir, err)
	}
	if s.chip.Model.CoreCell() {
		files["reset_lgw.sh"] = scripts.ResetLGW
	} else {
		s.removeDebugConf()
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		perm := os.FileMode(0o644)
		if strings.HasSuffix(n, ".sh") {
			perm = 0o755
		}
		wrote, err := writeIfChanged(filepath.Join(s.cfg.RootDir, n), files[n], perm)
		if err != nil {
			return fmt.Errorf("%w (is ROOT_DIR=%s writable, is the disk full?)", err, s.cfg.RootDir)
		}
		if wrote && n == "reset_lgw.sh" {
			s.log.Infof("installed %s (succeeds at once under pktfwd, which resets the chip itself)", filepath.Join(s.cfg.RootDir, n))
		} else if wrote {
			s.log.WithField("region", region.Plan.Name).Infof("wrote %s (%s)", filepath.Join(s.cfg.RootDir, n), source)
		}
	}
	return nil
}

// render builds the files from a maker's template when one exists for the
// plan, else from the embedded plan; then applies GLOBAL_CONF_OVERLAY.
func (s *Supervisor) render(region regionUpdate) (configs.Files, string, error) {
	server, up, down := s.forwarderServer()
	server = s.serverIP(server)
	site := configs.Site{GatewayID: s.eui, Server: server, PortUp: up, PortDown: down}
	if s.hw.USB {
		site.USBPath = s.hw.USBDevice
	} else {
		site.SPIPath = s.hw.Bus.Path()
	}
	files, source, err := s.base(region, site)
	if err != nil {
		return nil, "", err
	}
	if err := configs.Validate(s.chip.Model, files); err != nil {
		return nil, "", fmt.Errorf("the config from %s is invalid, so the last good one stays: %w", source, err)
	}
	if s.cfg.GlobalConfOverlay != "" {
		if files, err = configs.ApplyOverlay(s.chip.Model, files, "GLOBAL_CONF_OVERLAY", []byte(s.cfg.GlobalConfOverlay)); err != nil {
			return nil, "", fmt.Errorf("%w; the last good config stays", err)
		}
		source += " + GLOBAL_CONF_OVERLAY"
	}
	return files, source, nil
}

// base renders from a maker's template for the plan when the chip family's
// SX130x_REGION_CONFIGS_DIR holds one, else from the embedded plan.
func (s *Supervisor) base(region regionUpdate, site configs.Site) (configs.Files, string, error) {
	dir := s.cfg.SX1301RegionConfigsDir
	if s.chip.Model.CoreCell() {
		dir = s.cfg.SX1302RegionConfigsDir
	}
	if dir != "" {
		files, source, err := s.fromTemplate(dir, site, region.Plan.Name, regions.Normalize(region.Name))
		if err != nil || files != nil {
			return files, source, err
		}
	}
	files, err := configs.Render(s.chip.Model, *region.Plan, site)
	return files, "embedded plan " + region.Plan.Name, err
}

// maxTemplateBytes bounds a maker's template; real ones are under 20 KB.
const maxTemplateBytes = 1 << 20

// fromTemplate renders from the first of the maker's templates for names
// (the plan's name, then the name as given, e.g. EU868_A then EU868) that
// exists in dir. It returns nil files when none exists.
func (s *Supervisor) fromTemplate(dir string, site configs.Site, names ...string) (configs.Files, string, error) {
	for _, n := range names {
		path := filepath.Join(dir, configs.TemplateFile(n))
		data, err := safefile.Read(path, maxTemplateBytes)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, "", fmt.Errorf("maker template: %w (check SX1301_REGION_CONFIGS_DIR or SX1302_REGION_CONFIGS_DIR)", err)
		}
		files, err := configs.FromTemplate(path, data, s.chip.Model, site)
		return files, "maker template " + path, err
	}
	return nil, "", nil
}

// removeDebugConf removes ROOT_DIR/debug_conf.json: the SX1301 forwarder
// reads it alone when it exists, silently ignoring global_conf.json.
func (s *Supervisor) removeDebugConf() {
	p := filepath.Join(s.cfg.RootDir, "debug_conf.json")
	switch err := os.Remove(p); {
	case err == nil:
		s.log.Warnf("removed %s: the SX1301 forwarder would have read it instead of global_conf.json", p)
	case !errors.Is(err, fs.ErrNotExist):
		s.once("debug_conf", fmt.Sprintf("cannot remove stale %s: %v", p, err))
	}
}
