package miniprogramapi

import (
	"github.com/siyu-live/siyu/edge"
)

// routes lists every shopper route. Routes with Security "member" need a
// session token; their handlers see only the calling member's data.
func (a *API) routes() []edge.Route {
	var rs []edge.Route
	return rs
}
