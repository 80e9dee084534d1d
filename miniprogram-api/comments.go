package miniprogramapi

import (
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/edge"
	"github.com/siyu-live/siyu/live"
)

// commentBody is a comment in the live room.
type commentBody struct {
	ID        string    `json:"id"`
	MemberID  string    `json:"member_id"`
	Nickname  string    `json:"nickname"`
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"created_at"`
}

func commentsOut(cs []live.Comment) []commentBody {
	out := make([]commentBody, len(cs))
	for i, c := range cs {
		out[i] = commentBody{ID: c.ID, MemberID: c.MemberID, Nickname: c.Nickname, Text: c.Text, CreatedAt: c.CreatedAt}
	}
	return out
}

// postCommentRequest is the body of POST /shows/:id/comments.
type postCommentRequest struct {
	ID   string `path:"id" json:"-"`
	Text string `json:"text" minLength:"1" maxLength:"140"`
}

// acceptedComment is the author's view of their comment as it is
// accepted: pending moderation. The author's client shows it at once;
// everyone else sees it in the room's chat batches once it passes
// moderation (a comment that fails is hidden and reaches no one else).
type acceptedComment struct {
	ID        string    `json:"id"`
	MemberID  string    `json:"member_id"`
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"created_at"`
	Status    string    `json:"status" enum:"pending"`
}

// postComment takes a comment to a live show.
func (a *API) postComment(c *fiber.Ctx) error {
	var req postCommentRequest
	if err := decodeBody(c, &req); err != nil {
		return edge.BadRequest("invalid_json", "the body must be {\"text\": \"…\"}")
	}
	cm, err := a.shows.PostComment(c.UserContext(), c.Params("id"), memberID(c), req.Text)
	if err != nil {
		return liveProblem(err)
	}
	return c.Status(http.StatusAccepted).JSON(acceptedComment{ID: cm.ID, MemberID: cm.MemberID, Text: cm.Text, CreatedAt: cm.CreatedAt, Status: string(cm.Status)})
}

// listCommentsRequest pages GET /shows/:id/comments.
type listCommentsRequest struct {
	ID     string `path:"id"`
	Before string `query:"before" description:"A comment id: only older comments (the next page of history)."`
	Limit  int    `query:"limit" minimum:"1" maximum:"100" description:"At most 100; 50 by default."`
}

// commentsBody is a page of comments, oldest first.
type commentsBody struct {
	Comments []commentBody `json:"comments"`
	// Before is the value for the next (older) page; empty at the start.
	Before string `json:"before,omitempty"`
}

// listComments gives late joiners the chat history.
func (a *API) listComments(c *fiber.Ctx) error {
	limit := c.QueryInt("limit", 50)
	if limit < 1 || limit > 100 {
		return edge.BadRequest("invalid_limit", "limit is 1 to 100")
	}
	cs, err := a.shows.CommentHistory(c.UserContext(), c.Params("id"), c.Query("before"), limit)
	if err != nil {
		return err
	}
	out := commentsBody{Comments: commentsOut(cs)}
	if len(cs) == limit {
		out.Before = cs[0].ID
	}
	return c.JSON(out)
}
