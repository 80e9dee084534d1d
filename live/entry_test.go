package live

import (
	"context"
	"fmt"
	"sync"
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

// TestStoreCommentsNumbered: moderators storing comments of the same shows
// at once number each show's comments 1, 2, 3, … with none twice, and a
// reader following a show's feed by number never sees a number before a
// smaller one: numbers become visible in order.
func TestStoreCommentsNumbered(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		shows := []string{"show-a", "show-b", "show-c"}
		const writers, batches, size = 6, 20, 7
		stop := make(chan struct{})
		readErr := make(chan error, 1)
		go func() {
			// Follows show-a, expecting every number after the last seen.
			var last int64
			for {
				var seqs []int64
				err := db.NewSelect().Model((*Comment)(nil)).Column("seq").Where("show_id = ? AND seq > ?", "show-a", last).
					OrderExpr("seq").Scan(ctx, &seqs)
				if err != nil {
					readErr <- err
					return
				}
				for _, s := range seqs {
					if s != last+1 {
						readErr <- fmt.Errorf("saw %d after %d", s, last)
						return
					}
					last = s
				}
				select {
				case <-stop:
					readErr <- nil
					return
				default:
				}
			}
		}()
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := range writers {
			wg.Go(func() {
				for b := range batches {
					rows := make([]Comment, size)
					for i := range rows {
						id := fmt.Sprintf("c-%d-%d-%d", w, b, i)
						rows[i] = Comment{ID: id, ShowID: shows[(w+b+i)%len(shows)], MemberID: "m", Text: "主播好", Status: CommentVisible, CreatedAt: time.Now()}
					}
					if _, err := storeComments(ctx, db, rows); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(stop)
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if err := <-readErr; err != nil {
			t.Fatalf("reader: %v", err)
		}
		total := 0
		for _, show := range shows {
			var seqs []int64
			if err := db.NewSelect().Model((*Comment)(nil)).Column("seq").Where("show_id = ?", show).OrderExpr("seq").Scan(ctx, &seqs); err != nil {
				t.Fatal(err)
			}
			for i, s := range seqs {
				if s != int64(i+1) {
					t.Fatalf("%s numbered %v", show, seqs)
				}
			}
			total += len(seqs)
		}
		if total != writers*batches*size {
			t.Fatalf("%d comments stored, want %d", total, writers*batches*size)
		}
	})
}
