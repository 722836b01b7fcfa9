package configs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// object is a JSON object that keeps its keys in the order they were added,
// so rendered files read like Semtech's and are byte-for-byte deterministic.
type object []field

type field struct {
	key   string
	value any
}

func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(f.key))
		b.WriteByte(':')
		v, err := json.Marshal(f.value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.key, err)
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// encode writes v indented by four spaces, as Semtech's files are, with a
// final newline.
func encode(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// decode parses JSON that may hold /* */ and // comments, as Semtech's
// parser accepts, keeping numbers exact. Errors name the file and the line
// and column.
func decode(name string, data []byte) (map[string]any, error) {
	clean := stripComments(data)
	d := json.NewDecoder(bytes.NewReader(clean))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, syntaxError(name, clean, err)
	}
	if d.More() {
		return nil, fmt.Errorf("%s: more than one JSON value", name)
	}
	return m, nil
}

// syntaxError places a JSON error at its line and column.
func syntaxError(name string, data []byte, err error) error {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 || off > int64(len(data)) {
		return fmt.Errorf("%s is not valid JSON: %w", name, err)
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := off - int64(bytes.LastIndexByte(data[:off], '\n'))
	return fmt.Errorf("%s is not valid JSON at line %d, column %d (byte %d): %w", name, line, col, off, err)
}

// stripComments blanks /* */ and // comments outside strings, keeping every
// newline so that error positions still match the file.
func stripComments(in []byte) []byte {
	out := append([]byte(nil), in...)
	inString, escaped := false, false
	for i := 0; i < len(out); i++ {
		c := out[i]
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '/' && i+1 < len(out) && out[i+1] == '/':
			for ; i < len(out) && out[i] != '\n'; i++ {
				out[i] = ' '
			}
		case c == '/' && i+1 < len(out) && out[i+1] == '*':
			end := bytes.Index(out[i+2:], []byte("*/"))
			stop := len(out)
			if end >= 0 {
				stop = i + 2 + end + 2
			}
			for ; i < stop; i++ {
				if out[i] != '\n' {
					out[i] = ' '
				}
			}
			i--
		}
	}
	return out
}

// MergePatch applies an RFC 7386 JSON merge patch to doc: objects merge
// key by key, null deletes, anything else replaces.
func MergePatch(doc, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	d, ok := doc.(map[string]any)
	if !ok {
		d = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(d, k)
		} else {
			d[k] = MergePatch(d[k], v)
		}
	}
	return d
}
