// Package edge is the HTTP edge every Siyu API shares: the fiber app with
// request IDs, structured access logs, panic recovery, body limits,
// timeouts and CORS; the error contract
// {"error":{"code","message","request_id"}}; /healthz, /readyz and
// /metrics; and the route table that both registers JSON routes with fiber
// and describes them in the OpenAPI document served at /openapi.json.
package edge
