package ivr

import _ "embed"

// DefaultFile is the name the default menu is loaded under, its path in the repository.
const DefaultFile = "ivr/menus/12315.yaml"

//go:embed menus/12315.yaml
var defaultMenu []byte

// DefaultYAML returns the text of the default 12315 menu, e.g. to start a local copy.
func DefaultYAML() []byte { return append([]byte(nil), defaultMenu...) }

// Default loads the default 12315 menu. Options are those of Load (WithSounds).
func Default(opts ...Option) (*Menu, error) {
	return Load(DefaultFile, defaultMenu, opts...)
}
