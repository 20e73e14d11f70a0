package sim

// stasisApp is the Stasis application the dialplan sends a call to exten to: Config.Exten
// goes to Config.App, each of Config.Extensions to its own app (as on an Asterisk node that
// runs one controller per app name, ARCHITECTURE.md section 7). ok is false for a number
// the dialplan does not know.
func (s *Server) stasisApp(exten string) (app string, ok bool) {
	if exten == s.cfg.Exten {
		return s.cfg.App, true
	}
	app, ok = s.cfg.Extensions[exten]
	return app, ok && app != ""
}
