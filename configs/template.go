package configs

import (
	"fmt"

	"pktfwd/chips"
)

// TemplateFile is the name of a maker's template for a region name in its
// directory, e.g. global_conf.json.EU868. The supervisor reads the file;
// this package only parses the bytes.
func TemplateFile(region string) string { return "global_conf.json." + region }

// FromTemplate renders from a maker's own global_conf.json instead of the
// embedded plan, still injecting the site's SPI path and gateway settings.
// name is the file's path, for errors.
func FromTemplate(name string, data []byte, m chips.Model, s Site) (Files, error) {
	if err := s.validate(m); err != nil {
		return nil, err
	}
	doc, err := decode(name, data)
	if err != nil {
		return nil, err
	}
	section := "SX1301_conf"
	if m.CoreCell() {
		section = "SX130x_conf"
	}
	conf, ok := doc[section].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s has no %s object, which the %s forwarder needs", name, section, m)
	}
	if m.CoreCell() {
		delete(conf, "spidev_path")
		for _, f := range comPath(s) {
			conf[f.key] = f.value
		}
	}
	gw, _ := doc["gateway_conf"].(map[string]any)
	if gw == nil {
		gw = map[string]any{}
		doc["gateway_conf"] = gw
	}
	for _, f := range gatewayIdentity(s) {
		gw[f.key] = f.value
	}
	var local any
	if !m.CoreCell() {
		local = object{{"gateway_conf", gatewayIdentity(s)}}
	}
	return encodeFiles(doc, local)
}

// Overlay applies GLOBAL_CONF_OVERLAY, an RFC 7386 JSON merge patch, to
// global_conf.json (calibration, antenna gain…). name names the patch's
// source, for errors.
func (f Files) Overlay(name string, patch []byte) (Files, error) {
	p, err := decode(name, patch)
	if err != nil {
		return nil, err
	}
	doc, err := decode("rendered global_conf.json", f["global_conf.json"])
	if err != nil {
		return nil, err
	}
	out := Files{}
	for k, v := range f {
		out[k] = v
	}
	if out["global_conf.json"], err = encode(MergePatch(doc, p)); err != nil {
		return nil, err
	}
	return out, nil
}
