package live

import (
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/testsupport"
)

// TestCommentEntry: a comment comes back from its stream entry as it went
// in, whatever its text holds, and what is not an entry is refused.
func TestCommentEntry(t *testing.T) {
	for _, text := range []string{"主播好", "", "two\nlines\n", "\n", "a\x00b\r\n\t\"'\\"} {
		c := pendingComment{ID: "01a23a8d-bb45-7e34-b5a6-c03d985fcf31", MemberID: "m-1", Text: text, AtMS: 1764745000123}
		got, ok := parseEntry(c.entry())
		if !ok || got != c {
			t.Fatalf("text %q: got %+v %v", text, got, ok)
		}
	}
	for _, bad := range []string{"", "id", "id\nm", "id\nm\nnot-a-time\ntext", "\nm\n1\ntext", "id\n\n1\ntext", "{\"c\":1}"} {
		if got, ok := parseEntry(bad); ok {
			t.Fatalf("%q read as %+v", bad, got)
		}
	}
}

// TestStoreCommentsOnce: storing comments again stores only the new ones
// and answers only those, also when none is new.
func TestStoreCommentsOnce(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		at := time.Now().UTC().Truncate(time.Millisecond)
		row := func(id string) Comment {
			return Comment{ID: id, ShowID: "show-1", MemberID: "m-" + id, Text: "主播好", Status: CommentVisible, CreatedAt: at}
		}
		steps := []struct {
			ids, want []string
		}{
			{[]string{"c-1", "c-2"}, []string{"c-1", "c-2"}},
			{[]string{"c-1", "c-2", "c-3"}, []string{"c-3"}},
			{[]string{"c-3", "c-1"}, nil},
		}
		for i, st := range steps {
			rows := make([]Comment, len(st.ids))
			for k, id := range st.ids {
				rows[k] = row(id)
			}
			got, err := storeComments(ctx, db, rows)
			if err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			if len(got) != len(st.want) {
				t.Fatalf("step %d stored %v, want %v", i, got, st.want)
			}
			for _, id := range st.want {
				if !got[id] {
					t.Fatalf("step %d stored %v, want %v", i, got, st.want)
				}
			}
		}
		n, err := db.NewSelect().Model((*Comment)(nil)).Count(ctx)
		if err != nil || n != 3 {
			t.Fatalf("%d comments stored (%v), want 3", n, err)
		}
	})
}
