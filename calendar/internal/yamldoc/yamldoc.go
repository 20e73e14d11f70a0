// Package yamldoc decodes the calendar's YAML data files strictly (unknown keys are errors)
// and keeps the line of each value, so that a bad value is reported as file:line.
package yamldoc

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"
)

// Decode decodes data, named name in errors, into v. Unknown keys, a second document and an
// empty file are errors.
func Decode(name string, data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%s: empty file", name)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: more than one YAML document", name)
	}
	return nil
}

// Value is a scalar of type T with the line it was written on. It is meant for scalars only:
// yaml.v3 cannot keep strict key checking inside a custom unmarshaler.
type Value[T any] struct {
	V    T
	Line int
	Set  bool
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (v *Value[T]) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a single value", n.Line)
	}
	v.Line, v.Set = n.Line, true
	return n.Decode(&v.V)
}

// Errorf formats an error located at name:line.
func Errorf(name string, line int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", name, line, fmt.Sprintf(format, args...))
}
