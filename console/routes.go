package console

// routes lists every staff route with the roles allowed to call it.
func (a *API) routes() []Route {
	var rs []Route
	return rs
}
