package sim

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

type apiProperty struct {
	Type            string `json:"type"`
	Required        bool   `json:"required"`
	AllowableValues *struct {
		Values []string `json:"values"`
	} `json:"allowableValues"`
}

type apiModel struct {
	ID         string                 `json:"id"`
	Properties map[string]apiProperty `json:"properties"`
	SubTypes   []string               `json:"subTypes"`
}

type apiParam struct {
	Name      string `json:"name"`
	ParamType string `json:"paramType"`
}

type apiDoc struct {
	APIs []struct {
		Path       string `json:"path"`
		Operations []struct {
			HTTPMethod string     `json:"httpMethod"`
			Parameters []apiParam `json:"parameters"`
		} `json:"operations"`
	} `json:"apis"`
	Models map[string]apiModel `json:"models"`
}

type apiModels struct {
	models map[string]apiModel
	parent map[string]string
	ops    map[string]map[string]bool // "METHOD /path" -> parameter names
}

func loadModels(t testing.TB) *apiModels {
	t.Helper()
	dir := sharedDir(t, "asterisk-ari-api")
	m, err := loadModelsDir(dir)
	if err != nil {
		t.Skipf("API descriptions in %s: %v", dir, err)
	}
	return m
}

func loadModelsDir(dir string) (*apiModels, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no API descriptions in %s", dir)
	}
	m := &apiModels{models: map[string]apiModel{}, parent: map[string]string{}, ops: map[string]map[string]bool{}}
	for _, f := range files {
		if filepath.Base(f) == "resources.json" {
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var doc apiDoc
		if err := json.Unmarshal(raw, &doc); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for id, md := range doc.Models {
			m.models[id] = md
			for _, sub := range md.SubTypes {
				m.parent[sub] = id
			}
		}
		for _, api := range doc.APIs {
			for _, op := range api.Operations {
				names := map[string]bool{}
				for _, p := range op.Parameters {
					names[p.Name] = true
				}
				m.ops[op.HTTPMethod+" "+api.Path] = names
			}
		}
	}
	return m, nil
}

// properties merges a model's properties with its ancestors' (Event, Message).
func (m *apiModels) properties(id string) map[string]apiProperty {
	out := map[string]apiProperty{}
	for cur := id; cur != ""; cur = m.parent[cur] {
		for k, v := range m.models[cur].Properties {
			if _, ok := out[k]; !ok {
				out[k] = v
			}
		}
	}
	return out
}

// validateEvent checks an event against its model in events.json: known
// type, every required field, no undeclared field, and the JSON type of
// every field, nested models included.
func (m *apiModels) validateEvent(raw []byte) error {
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		return fmt.Errorf("not a JSON object: %w", err)
	}
	typ, _ := ev["type"].(string)
	if _, ok := m.models[typ]; !ok || typ == "" {
		return fmt.Errorf("unknown event type %q", typ)
	}
	return m.validateObject(typ, ev, typ)
}

func (m *apiModels) validateObject(model string, obj map[string]any, path string) error {
	props := m.properties(model)
	for name, p := range props {
		if _, ok := obj[name]; !ok && p.Required {
			return fmt.Errorf("%s: required field %s missing", path, name)
		}
	}
	names := make([]string, 0, len(obj))
	for k := range obj {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		p, ok := props[name]
		if !ok {
			return fmt.Errorf("%s: field %s is not in model %s", path, name, model)
		}
		if err := m.validateValue(p, obj[name], path+"."+name); err != nil {
			return err
		}
	}
	return nil
}

func (m *apiModels) validateValue(p apiProperty, v any, path string) error {
	typ := p.Type
	if inner, ok := strings.CutPrefix(typ, "List["); ok {
		arr, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: want a list, got %T", path, v)
		}
		elem := apiProperty{Type: strings.TrimSuffix(inner, "]")}
		for i, e := range arr {
			if err := m.validateValue(elem, e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	}
	switch typ {
	case "string":
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: want a string, got %T", path, v)
		}
		if p.AllowableValues != nil && len(p.AllowableValues.Values) > 0 {
			for _, a := range p.AllowableValues.Values {
				if a == s {
					return nil
				}
			}
			return fmt.Errorf("%s: %q is not one of %v", path, s, p.AllowableValues.Values)
		}
	case "int", "long":
		f, ok := v.(float64)
		if !ok || f != math.Trunc(f) {
			return fmt.Errorf("%s: want an integer, got %v", path, v)
		}
	case "double":
		if _, ok := v.(float64); !ok {
			return fmt.Errorf("%s: want a number, got %T", path, v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: want a boolean, got %T", path, v)
		}
	case "Date":
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: want a date string, got %T", path, v)
		}
		if _, err := time.Parse(tsLayout, s); err != nil {
			return fmt.Errorf("%s: %q is not Asterisk's time format", path, s)
		}
	case "object":
		if _, ok := v.(map[string]any); !ok {
			return fmt.Errorf("%s: want an object, got %T", path, v)
		}
	default:
		obj, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: want a %s object, got %T", path, typ, v)
		}
		if _, known := m.models[typ]; !known {
			return fmt.Errorf("%s: unknown model %s", path, typ)
		}
		return m.validateObject(typ, obj, path)
	}
	return nil
}

// TestRoutesAreDescribed: every operation the sim serves is one of
// Asterisk's published operations (same method and path template).
func TestRoutesAreDescribed(t *testing.T) {
	m := loadModels(t)
	srv, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	routes := srv.Routes()
	if len(routes) < 40 {
		t.Fatalf("only %d routes", len(routes))
	}
	for _, r := range routes {
		if _, ok := m.ops[r]; !ok {
			t.Errorf("sim serves %s, which Asterisk's descriptions do not have", r)
		}
	}
}

// paramRecorder collects the parameters each operation read during a test.
type paramRecorder struct {
	mu   sync.Mutex
	seen map[string]map[string]bool
}

func (p *paramRecorder) record(op, name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.seen == nil {
		p.seen = map[string]map[string]bool{}
	}
	if p.seen[op] == nil {
		p.seen[op] = map[string]bool{}
	}
	p.seen[op][name] = true
}

// check fails for any parameter an operation read that its description
// does not declare.
func (p *paramRecorder) check(t *testing.T, m *apiModels) {
	if n := p.operations(); n < 10 {
		t.Errorf("only %d operations exercised", n)
	}
	for _, e := range p.undeclared(m) {
		t.Error(e)
	}
}

func (p *paramRecorder) operations() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.seen)
}

func (p *paramRecorder) undeclared(m *apiModels) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for op, names := range p.seen {
		declared, ok := m.ops[op]
		if !ok {
			out = append(out, fmt.Sprintf("operation %s is not described", op))
			continue
		}
		for n := range names {
			if !declared[n] {
				out = append(out, fmt.Sprintf("%s reads parameter %q, which is not in its description", op, n))
			}
		}
	}
	sort.Strings(out)
	return out
}
