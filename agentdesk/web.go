package agentdesk

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

// The agent web app: plain HTML, CSS and JavaScript, no build step, nothing fetched from
// elsewhere.
//
//go:embed web
var webFiles embed.FS

// contentSecurityPolicy lets the page load only its own files and talk only to its own
// server ('self' covers the same-origin WebSocket).
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; media-src 'self' blob: mediastream:; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"

// secureHeaders are set on every page and asset.
func secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Permissions-Policy", "microphone=(self), camera=(), geolocation=()")
		// The app is small and changes with the binary: always revalidate.
		h.Set("Cache-Control", "no-cache")
		next.ServeHTTP(w, r)
	})
}

// webPage serves one page of the app (web/name); it shows no data by itself.
func webPage(name string) http.Handler {
	sub, err := fs.Sub(webFiles, "web")
	if err != nil {
		panic(err) // the embedded tree always has web/
	}
	return secureHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, sub, name)
	}))
}

// webApp serves the app: / is the page, /assets/ its scripts and styles (web/assets).
func webApp() (index, assets http.Handler) {
	sub, err := fs.Sub(webFiles, "web")
	if err != nil {
		panic(err) // the embedded tree always has web/
	}
	files := http.FileServerFS(sub)
	index = secureHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, sub, "index.html")
	}))
	assets = secureHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no directory listings
			return
		}
		files.ServeHTTP(w, r)
	}))
	return index, assets
}

// mount registers the desk's endpoints on s: sign-in, the WebSocket, the case form and the
// web app. handle counts requests in the server's metrics.
func (d *Desk) mount(mux *http.ServeMux, handle func(pattern string, h http.HandlerFunc)) {
	a := d.cfg.Auth
	handle("POST /api/auth/login", a.Login)
	handle("POST /api/auth/logout", a.Logout)
	handle("GET /api/auth/session", a.Session)
	handle("PUT /api/cases/{number}", a.RequireRole(deskRoles...)(http.HandlerFunc(d.putCase)).ServeHTTP)
	handle("POST /api/cases/{number}/survey", a.RequireRole(surveyRoles...)(http.HandlerFunc(d.postSurvey)).ServeHTTP)
	// Not counted by handle: the request lasts as long as the connection.
	mux.Handle("GET /api/agent/ws", a.RequireWebSocket(deskRoles...)(http.HandlerFunc(d.serveWS)))
	index, assets := webApp()
	mux.Handle("GET /{$}", index)
	mux.Handle("GET /assets/", assets)
	// The supervisors' wallboard; its data come from package wallboard (WithRoute).
	mux.Handle("GET /wallboard", webPage("wallboard.html"))
}
