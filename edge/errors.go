package edge

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Problem is an error with its HTTP answer. Handlers return one for input
// they reject themselves; error tables turn domain sentinels into one.
type Problem struct {
	Status  int
	Code    string
	Message string
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter time.Duration
}

func (p *Problem) Error() string { return p.Code + ": " + p.Message }

// BadRequest returns a 400 Problem with the given code and message.
func BadRequest(code, message string) *Problem {
	return &Problem{Status: http.StatusBadRequest, Code: code, Message: message}
}

// Mapping maps one domain sentinel error to its HTTP answer. An empty
// Message uses the sentinel's own text.
type Mapping struct {
	Err     error
	Status  int
	Code    string
	Message string
}

// ErrorBody is the JSON shape of every error answer.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of ErrorBody.
type ErrorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
}

// retryAfterer is implemented by domain errors that know when to try again.
type retryAfterer interface{ RetryAfter() time.Duration }

// ErrorHandler returns a fiber error handler that answers with the error
// contract: a Problem as it is, a fiber error by its status, a sentinel in
// table by its mapping, and anything else as a logged 500 without details.
func ErrorHandler(log *slog.Logger, table []Mapping) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		p := Resolve(err, table)
		if p.Status == http.StatusInternalServerError {
			log.Error("internal error", "request_id", RequestID(c), "method", c.Method(), "path", c.Path(), "err", err)
		}
		var ra retryAfterer
		if p.RetryAfter == 0 && errors.As(err, &ra) {
			p.RetryAfter = ra.RetryAfter()
		}
		if p.RetryAfter > 0 {
			secs := int((p.RetryAfter + time.Second - 1) / time.Second)
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(secs))
		}
		return WriteError(c, p.Status, p.Code, p.Message)
	}
}

// Resolve turns err into the Problem that answers it.
func Resolve(err error, table []Mapping) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		cp := *p
		return &cp
	}
	for _, m := range table {
		if errors.Is(err, m.Err) {
			msg := m.Message
			if msg == "" {
				msg = m.Err.Error()
			}
			return &Problem{Status: m.Status, Code: m.Code, Message: msg}
		}
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		return &Problem{Status: fe.Code, Code: statusCode(fe.Code), Message: fe.Message}
	}
	return &Problem{Status: http.StatusInternalServerError, Code: "internal_error", Message: "internal error; quote the request id when asking for help"}
}

// statusCode names the codes fiber itself produces.
func statusCode(status int) string {
	switch status {
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusRequestEntityTooLarge:
		return "body_too_large"
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return "bad_request"
	case http.StatusTooManyRequests:
		return "rate_limited"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusRequestTimeout:
		return "timeout"
	case http.StatusServiceUnavailable:
		return "unavailable"
	default:
		return "http_" + strconv.Itoa(status)
	}
}

// WriteError answers with the error contract.
func WriteError(c *fiber.Ctx, status int, code, message string) error {
	return c.Status(status).JSON(ErrorBody{Error: ErrorDetail{Code: code, Message: message, RequestID: RequestID(c)}})
}
