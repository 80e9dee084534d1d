package wecom

import (
	"fmt"
	"net/http"
	"time"
)

// tagRef locates a tag in the library.
type tagRef struct {
	group TagGroup
	tag   Tag
}

// seedTags loads the tag library, deriving stable "et…" ids for tags and
// groups the config leaves without one.
func (s *Server) seedTags() error {
	for _, g := range s.cfg.TagGroups {
		if g.Name == "" {
			return fmt.Errorf("%w: a tag group needs a name", ErrInvalidConfig)
		}
		if g.ID == "" {
			g.ID = derivedID("et", s.cfg.CorpID, "tag_group", g.Name)
		}
		tags := make([]Tag, 0, len(g.Tags))
		for _, t := range g.Tags {
			if t.Name == "" {
				return fmt.Errorf("%w: a tag in group %q needs a name", ErrInvalidConfig, g.Name)
			}
			if t.ID == "" {
				t.ID = derivedID("et", s.cfg.CorpID, "tag", g.Name, t.Name)
			}
			if _, dup := s.tags[t.ID]; dup {
				return fmt.Errorf("%w: tag id %q listed twice", ErrInvalidConfig, t.ID)
			}
			tags = append(tags, t)
		}
		g.Tags = tags
		for _, t := range tags {
			s.tags[t.ID] = tagRef{group: g, tag: t}
		}
		s.tagGroups = append(s.tagGroups, g)
	}
	return nil
}

// TagGroups returns the tag library with every id filled in.
func (s *Server) TagGroups() []TagGroup {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]TagGroup, 0, len(s.tagGroups))
	for _, g := range s.tagGroups {
		g.Tags = append([]Tag(nil), g.Tags...)
		out = append(out, g)
	}
	return out
}

type corpTagListRequest struct {
	TagID   []string `json:"tag_id"`
	GroupID []string `json:"group_id"`
}

type corpTagItem struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	CreateTime int64  `json:"create_time"`
	Order      int    `json:"order"`
	Deleted    bool   `json:"deleted"`
}

type corpTagGroup struct {
	GroupID    string        `json:"group_id"`
	GroupName  string        `json:"group_name"`
	CreateTime int64         `json:"create_time"`
	Order      int           `json:"order"`
	Deleted    bool          `json:"deleted"`
	Tag        []corpTagItem `json:"tag"`
}

type corpTagListAnswer struct {
	status
	TagGroup []corpTagGroup `json:"tag_group"`
}

// getCorpTagList serves POST externalcontact/get_corp_tag_list. With neither
// filter every tag is listed; group_id wins over tag_id when both are given.
func (s *Server) getCorpTagList(w http.ResponseWriter, r *http.Request) {
	var req corpTagListRequest
	if err := decodeBody(r, &req); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	groups, tags := toSet(req.GroupID), toSet(req.TagID)
	if len(groups) > 0 {
		tags = nil
	}
	created := s.now().Add(-90 * 24 * time.Hour).Unix()
	ans := corpTagListAnswer{status: okStatus, TagGroup: []corpTagGroup{}}
	for gi, g := range s.TagGroups() {
		if len(groups) > 0 && !groups[g.ID] {
			continue
		}
		cg := corpTagGroup{GroupID: g.ID, GroupName: g.Name, CreateTime: created, Order: gi, Tag: []corpTagItem{}}
		for ti, t := range g.Tags {
			if len(tags) > 0 && !tags[t.ID] {
				continue
			}
			cg.Tag = append(cg.Tag, corpTagItem{ID: t.ID, Name: t.Name, CreateTime: created, Order: ti})
		}
		if len(cg.Tag) > 0 {
			ans.TagGroup = append(ans.TagGroup, cg)
		}
	}
	writeJSON(w, ans)
}

// toSet turns a list into a membership set.
func toSet(list []string) map[string]bool {
	set := make(map[string]bool, len(list))
	for _, v := range list {
		set[v] = true
	}
	return set
}
