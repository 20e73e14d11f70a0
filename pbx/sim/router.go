package sim

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// params are an ARI request's parameters: path variables, the query string,
// and the fields of a JSON object body (Asterisk accepts either; body fields
// win). Object-valued body fields (e.g. "variables") are kept in objects.
type params struct {
	path    map[string]string
	values  map[string]string
	objects map[string]map[string]string
	audit   func(name string) // tests: records which parameters an operation reads
}

func (p params) seen(name string) {
	if p.audit != nil {
		p.audit(name)
	}
}

func (p params) object(name string) map[string]string {
	p.seen(name)
	return p.objects[name]
}

func (p params) get(name string) string {
	p.seen(name)
	if v, ok := p.path[name]; ok {
		return v
	}
	return p.values[name]
}

// boolean parses Asterisk's boolean spellings; absent gives def.
func (p params) boolean(name string, def bool) bool {
	p.seen(name)
	v, ok := p.values[name]
	if !ok || v == "" {
		return def
	}
	switch strings.ToLower(v) {
	case "true", "yes", "1", "on":
		return true
	}
	return false
}

// integer parses an int; absent or malformed gives def, as Asterisk's atoi does.
func (p params) integer(name string, def int) int {
	p.seen(name)
	v, ok := p.values[name]
	if !ok || v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return def
	}
	return n
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, p params)

type route struct {
	segs    []string // "{name}" is a variable
	methods map[string]handlerFunc
}

// routes lists every operation the sim serves; each is an operation of
// Asterisk's published descriptions (checked by TestRoutesAreDescribed).
func (s *Server) routes() []route {
	type op struct {
		method, path string
		h            handlerFunc
	}
	ops := []op{
		{"GET", "/asterisk/info", s.getInfo},
		{"GET", "/asterisk/ping", s.ping},
		{"GET", "/applications", s.listApps},
		{"GET", "/applications/{applicationName}", s.getApp},
		{"POST", "/applications/{applicationName}/subscription", s.subscribeApp},
		{"DELETE", "/applications/{applicationName}/subscription", s.subscribeApp},
		{"GET", "/asterisk/variable", s.getGlobalVar},
		{"POST", "/asterisk/variable", s.setGlobalVar},
		{"GET", "/events", s.handleEvents},

		{"GET", "/channels", s.listChannels},
		{"POST", "/channels", s.originate},
		{"POST", "/channels/create", s.createChannel},
		{"POST", "/channels/externalMedia", s.externalMedia},
		{"GET", "/channels/{channelId}", s.getChannel},
		{"POST", "/channels/{channelId}", s.originate},
		{"DELETE", "/channels/{channelId}", s.hangupChannel},
		{"POST", "/channels/{channelId}/answer", s.answerChannel},
		{"POST", "/channels/{channelId}/ring", s.ringChannel},
		{"DELETE", "/channels/{channelId}/ring", s.ringChannel},
		{"POST", "/channels/{channelId}/continue", s.continueChannel},
		{"POST", "/channels/{channelId}/play", s.playChannel},
		{"POST", "/channels/{channelId}/play/{playbackId}", s.playChannel},
		{"POST", "/channels/{channelId}/record", s.recordChannel},
		{"POST", "/channels/{channelId}/dial", s.dialChannel},
		{"GET", "/channels/{channelId}/variable", s.getChannelVar},
		{"POST", "/channels/{channelId}/variable", s.setChannelVar},
		{"POST", "/channels/{channelId}/snoop", s.snoopChannel},
		{"POST", "/channels/{channelId}/snoop/{snoopId}", s.snoopChannel},
		{"POST", "/channels/{channelId}/dtmf", s.sendDTMF},
		{"POST", "/channels/{channelId}/mute", s.muteChannel},
		{"DELETE", "/channels/{channelId}/mute", s.muteChannel},
		{"POST", "/channels/{channelId}/hold", s.acceptOnChannel},
		{"DELETE", "/channels/{channelId}/hold", s.acceptOnChannel},
		{"POST", "/channels/{channelId}/moh", s.acceptOnChannel},
		{"DELETE", "/channels/{channelId}/moh", s.acceptOnChannel},

		{"GET", "/bridges", s.listBridges},
		{"POST", "/bridges", s.createBridge},
		{"POST", "/bridges/{bridgeId}", s.createBridge},
		{"GET", "/bridges/{bridgeId}", s.getBridge},
		{"DELETE", "/bridges/{bridgeId}", s.destroyBridge},
		{"POST", "/bridges/{bridgeId}/addChannel", s.addChannel},
		{"POST", "/bridges/{bridgeId}/removeChannel", s.removeChannel},
		{"POST", "/bridges/{bridgeId}/play", s.playBridge},
		{"POST", "/bridges/{bridgeId}/play/{playbackId}", s.playBridge},
		{"POST", "/bridges/{bridgeId}/record", s.recordBridge},

		{"GET", "/playbacks/{playbackId}", s.getPlayback},
		{"DELETE", "/playbacks/{playbackId}", s.stopPlayback},
		{"POST", "/playbacks/{playbackId}/control", s.controlPlayback},

		{"GET", "/recordings/stored", s.listStored},
		{"GET", "/recordings/stored/{recordingName}", s.getStored},
		{"DELETE", "/recordings/stored/{recordingName}", s.deleteStored},
		{"GET", "/recordings/stored/{recordingName}/file", s.getStoredFile},
		{"GET", "/recordings/live/{recordingName}", s.getLive},
		{"DELETE", "/recordings/live/{recordingName}", s.cancelLive},
		{"POST", "/recordings/live/{recordingName}/stop", s.stopLive},
	}
	var rs []route
	for _, o := range ops {
		segs := strings.Split(strings.Trim(o.path, "/"), "/")
		found := false
		for i := range rs {
			if strings.Join(rs[i].segs, "/") == strings.Join(segs, "/") {
				rs[i].methods[o.method] = o.h
				found = true
				break
			}
		}
		if !found {
			rs = append(rs, route{segs: segs, methods: map[string]handlerFunc{o.method: o.h}})
		}
	}
	return rs
}

// Routes lists the served ARI operations as "METHOD /path/{var}", for
// conformance checks.
func (s *Server) Routes() []string {
	var out []string
	for _, r := range s.routes() {
		for m := range r.methods {
			out = append(out, m+" /"+strings.Join(r.segs, "/"))
		}
	}
	return out
}

// match finds the route for path segments; literal segments win over variables.
func match(rs []route, segs []string) (*route, map[string]string) {
	var best *route
	var bestVars map[string]string
	bestLiterals := -1
	for i := range rs {
		r := &rs[i]
		if len(r.segs) != len(segs) {
			continue
		}
		vars := map[string]string{}
		literals := 0
		ok := true
		for j, s := range r.segs {
			if strings.HasPrefix(s, "{") {
				vars[strings.Trim(s, "{}")] = segs[j]
				continue
			}
			if s != segs[j] {
				ok = false
				break
			}
			literals++
		}
		if ok && literals > bestLiterals {
			best, bestVars, bestLiterals = r, vars, literals
		}
	}
	return best, bestVars
}

// Handler returns the server's HTTP handler: ARI under /ari, the control API
// under /sim.
func (s *Server) Handler() http.Handler {
	rs := s.routes()
	mux := http.NewServeMux()
	mux.HandleFunc("/ari/", func(w http.ResponseWriter, r *http.Request) {
		if f := s.observe.Load(); f != nil {
			(*f)(r, time.Now())
		}
		if !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="Asterisk REST Interface"`)
			writeError(w, http.StatusUnauthorized, "Authentication required")
			return
		}
		rest := strings.TrimPrefix(r.URL.EscapedPath(), "/ari")
		raw := strings.Split(strings.Trim(rest, "/"), "/")
		segs := make([]string, len(raw))
		for i, seg := range raw {
			dec, err := url.PathUnescape(seg)
			if err != nil {
				dec = seg
			}
			segs[i] = dec
		}
		rt, vars := match(rs, segs)
		if rt == nil {
			writeError(w, http.StatusNotFound, "Resource not found")
			return
		}
		h := rt.methods[r.Method]
		if h == nil {
			var allow []string
			for m := range rt.methods {
				allow = append(allow, m)
			}
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeError(w, http.StatusMethodNotAllowed, "Invalid method")
			return
		}
		p, err := parseParams(r, vars)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		if audit := s.paramAudit; audit != nil {
			op := r.Method + " /" + strings.Join(rt.segs, "/")
			p.audit = func(name string) { audit(op, name) }
		}
		h(w, r, p)
	})
	mux.Handle("/sim/", s.controlHandler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "Not found")
	})
	return mux
}

func (s *Server) authorized(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok {
		key := r.URL.Query().Get("api_key")
		if key == "" {
			return false
		}
		user, pass, ok = strings.Cut(key, ":")
		if !ok {
			return false
		}
	}
	return subtle.ConstantTimeCompare([]byte(user), []byte(s.cfg.Username)) == 1 &&
		subtle.ConstantTimeCompare([]byte(pass), []byte(s.cfg.Password)) == 1
}

func parseParams(r *http.Request, vars map[string]string) (params, error) {
	p := params{path: vars, values: map[string]string{}, objects: map[string]map[string]string{}}
	for k, v := range r.URL.Query() {
		if k == "api_key" {
			continue
		}
		p.values[k] = strings.Join(v, ",")
	}
	if r.Body == nil || r.Method == http.MethodGet {
		return p, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return p, fmt.Errorf("read body: %w", err)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return p, nil
	}
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil {
		return p, fmt.Errorf("body is not a JSON object")
	}
	for k, v := range obj {
		switch t := v.(type) {
		case string:
			p.values[k] = t
		case bool:
			p.values[k] = strconv.FormatBool(t)
		case float64:
			p.values[k] = strconv.FormatFloat(t, 'f', -1, 64)
		case []any:
			var parts []string
			for _, e := range t {
				parts = append(parts, fmt.Sprint(e))
			}
			p.values[k] = strings.Join(parts, ",")
		case map[string]any:
			m := map[string]string{}
			for mk, mv := range t {
				s, ok := mv.(string)
				if !ok {
					return p, fmt.Errorf("Only string values in the '%s' object allowed", k) //lint:ignore ST1005 Asterisk's message
				}
				m[mk] = s
			}
			p.objects[k] = m
		}
	}
	return p, nil
}

func writeJSONResponse(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSONResponse(w, status, map[string]string{"message": msg})
}

func noContent(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }
