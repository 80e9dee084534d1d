package community

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/uptrace/bun"
)

// grantCoupons grants the chunk's coupons, a batch per transaction: the
// coupon and the row's mark commit together.
func (s *Campaigns) grantCoupons(ctx context.Context, run campaignRunRow, camp campaignRow, owner string, a *CouponAction, sp span) error {
	for {
		if err := s.keepGoing(ctx, run, camp, owner); err != nil {
			return err
		}
		n := 0
		err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			rows, err := s.pendingRows(ctx, tx, run.ID, ChannelCoupon, sp, []string{DeliveryPending}, s.cfg.BatchSize, true)
			if err != nil || len(rows) == 0 {
				return err
			}
			n = len(rows)
			specs := make([]grantSpec, 0, len(rows))
			for _, r := range rows {
				specs = append(specs, grantSpec{memberID: r.MemberID, couponID: campaignCouponID(run.ID, r.MemberID)})
			}
			outs := make([]outcome, 0, len(rows))
			results, err := s.cpn.grant(ctx, tx, a.TemplateID, specs, SourceCampaign, run.ID, "campaign:"+run.CampaignID)
			switch {
			case errors.Is(err, ErrCouponTemplateNotFound):
				for _, r := range rows {
					outs = append(outs, outcome{member: r.MemberID, state: DeliveryFailed, reason: "template_not_found"})
				}
			case err != nil:
				return err
			default:
				for _, g := range results {
					o := outcome{member: g.MemberID, state: DeliverySent, detail: g.CouponID}
					switch {
					case errors.Is(g.err, ErrCouponLimitReached):
						o = outcome{member: g.MemberID, state: DeliverySkipped, reason: "limit_reached"}
					case errors.Is(g.err, ErrCouponOutOfStock):
						o = outcome{member: g.MemberID, state: DeliverySkipped, reason: "out_of_stock"}
					case errors.Is(g.err, ErrCouponDisabled):
						o = outcome{member: g.MemberID, state: DeliverySkipped, reason: "template_disabled"}
					case g.err != nil:
						o = outcome{member: g.MemberID, state: DeliverySkipped, reason: "template_expired"}
					}
					outs = append(outs, o)
				}
			}
			return s.settle(ctx, tx, run.ID, ChannelCoupon, outs)
		})
		if err != nil {
			return err
		}
		if n < s.cfg.BatchSize {
			return nil
		}
	}
}

// campaignSendKey is the consent ledger's key of a run's message to a
// member.
func campaignSendKey(runID, memberID string) string { return "campaign:" + runID + ":" + memberID }

// sendSubscribe sends the chunk's subscribe messages through the consent
// ledger, paced, a few at a time.
func (s *Campaigns) sendSubscribe(ctx context.Context, run campaignRunRow, camp campaignRow, owner string, a *SubscribeAction, sp span) error {
	if s.cfg.Ledger == nil {
		return fmt.Errorf("campaign run %s sends subscribe messages and none are connected", run.ID)
	}
	states := []string{DeliveryPending, DeliverySending}
	retrying := 0
	var last string
	for {
		if err := s.keepGoing(ctx, run, camp, owner); err != nil {
			return err
		}
		// Walk the range by member id, so rows left pending for a retry
		// are not read again in this pass.
		page := sp
		if last != "" {
			page.after = last
		}
		rows, err := s.pendingRows(ctx, s.db, run.ID, ChannelSubscribe, page, states, s.cfg.BatchSize, false)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			break
		}
		last = rows[len(rows)-1].MemberID
		outs, err := s.subscribeBatch(ctx, run, a, rows)
		if len(outs) > 0 {
			if serr := s.settle(context.WithoutCancel(ctx), s.db, run.ID, ChannelSubscribe, outs); serr != nil {
				return serr
			}
		}
		if err != nil {
			return err
		}
		for _, o := range outs {
			if o.retry {
				retrying++
			}
		}
		if len(rows) < s.cfg.BatchSize {
			break
		}
	}
	if retrying > 0 {
		left, err := sp.where(s.db.NewSelect().Model((*deliveryRow)(nil)).
			Where("run_id = ? AND channel = ? AND state IN (?)", run.ID, ChannelSubscribe, bun.In(states))).Count(ctx)
		if err != nil {
			return err
		}
		if left > 0 {
			return fmt.Errorf("campaign run %s: %d subscribe messages could not be sent yet; trying again later", run.ID, left)
		}
	}
	return nil
}

// subscribeBatch sends one batch: it reserves the batch's consents in the
// ledger in one transaction, sends the messages reserved, and gives back
// the consents of those a stopped batch never handed to WeChat.
func (s *Campaigns) subscribeBatch(ctx context.Context, run campaignRunRow, a *SubscribeAction, rows []deliveryRow) ([]outcome, error) {
	members := make([]string, 0, len(rows))
	for _, r := range rows {
		members = append(members, r.MemberID)
	}
	var openids []struct {
		ID     string `bun:"id"`
		OpenID string `bun:"openid"`
	}
	if err := s.db.NewSelect().Table("members").Column("id", "openid").Where("id IN (?)", bun.In(members)).Scan(ctx, &openids); err != nil {
		return nil, fmt.Errorf("read openids: %w", err)
	}
	openid := make(map[string]string, len(openids))
	for _, o := range openids {
		openid[o.ID] = o.OpenID
	}
	var outs []outcome
	reqs := make([]SendRequest, 0, len(members))
	for _, m := range members {
		if openid[m] == "" {
			outs = append(outs, outcome{member: m, state: DeliverySkipped, reason: "no_openid"})
			continue
		}
		reqs = append(reqs, SendRequest{Key: campaignSendKey(run.ID, m), MemberID: m,
			Message: SubscribeMessage{OpenID: openid[m], TemplateID: a.TemplateID, Page: a.Page, Data: a.Data}})
	}
	res, err := s.cfg.Ledger.Reserve(ctx, reqs)
	if err != nil {
		return outs, fmt.Errorf("reserve the consents of run %s: %w", run.ID, err)
	}
	var todo []SendRequest
	mine := map[string]bool{}
	for i, r := range res {
		req := reqs[i]
		switch {
		case r.NoConsent:
			outs = append(outs, outcome{member: req.MemberID, state: DeliverySkipped, reason: "no_consent"})
		case r.Status == SendPending:
			todo = append(todo, req)
			mine[req.Key] = r.Reserved
		default:
			// Settled by an earlier attempt whose row was not marked.
			outs = append(outs, sendOutcome(req.MemberID, r.Status))
		}
	}
	sent, unsent, err := s.sendAll(ctx, todo)
	outs = append(outs, sent...)
	var back []SendRequest
	for _, req := range unsent {
		if mine[req.Key] {
			back = append(back, req)
		}
	}
	if rerr := s.cfg.Ledger.Release(context.WithoutCancel(ctx), back); rerr != nil {
		// The consents stay reserved for the rows, which are sent with
		// them when the run carries on.
		s.log.Warn("give back the consents of unsent campaign messages", "run_id", run.ID, "n", len(back), "err", rerr)
	}
	return outs, err
}

// sendOutcome is the outcome of a message the ledger settled.
func sendOutcome(member string, st SendStatus) outcome {
	switch st {
	case SendSent:
		return outcome{member: member, state: DeliverySent}
	case SendRefused:
		return outcome{member: member, state: DeliveryFailed, reason: "refused_43101"}
	case SendRejected:
		return outcome{member: member, state: DeliveryFailed, reason: "rejected"}
	}
	return outcome{member: member, state: DeliverySending, reason: "pending", retry: true}
}

// sendAll sends reserved messages with Senders workers, taking tokens from
// the shared pace as it goes. It stops early (returning what was done and
// the messages it never handed to a worker) when ctx ends or a test hook
// says the worker died.
func (s *Campaigns) sendAll(ctx context.Context, reqs []SendRequest) ([]outcome, []SendRequest, error) {
	var (
		mu    sync.Mutex
		outs  = make([]outcome, 0, len(reqs))
		first error
	)
	work := make(chan SendRequest)
	var wg sync.WaitGroup
	for i := 0; i < min(s.cfg.Senders, max(len(reqs), 1)); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for req := range work {
				// A send and its outcome are not cut in half by a cancelled
				// context: a stopping worker finishes the message in hand.
				o, err := s.sendOne(context.WithoutCancel(ctx), req)
				mu.Lock()
				if err != nil {
					if first == nil {
						first = err
					}
				} else {
					outs = append(outs, o)
				}
				mu.Unlock()
			}
		}()
	}
	var err error
	handed := 0
dispatch:
	for handed < len(reqs) {
		mu.Lock()
		stop := first != nil
		mu.Unlock()
		if stop {
			break
		}
		var got int
		got, err = s.pace.take(ctx, "wechat-subscribe", s.cfg.SubscribeRate, len(reqs)-handed)
		if err != nil {
			break
		}
		for _, req := range reqs[handed : handed+got] {
			select {
			case work <- req:
				handed++
			case <-ctx.Done():
				err = ctx.Err()
				break dispatch
			}
		}
	}
	close(work)
	wg.Wait()
	if err == nil {
		err = first
	}
	return outs, reqs[handed:], err
}

// sendOne sends one reserved message through the ledger and says what
// became of it.
func (s *Campaigns) sendOne(ctx context.Context, req SendRequest) (outcome, error) {
	st, err := s.cfg.Ledger.Deliver(ctx, req)
	if s.hooks.afterSend != nil {
		if herr := s.hooks.afterSend(ChannelSubscribe, req.MemberID); herr != nil {
			return outcome{}, herr
		}
	}
	switch {
	case err != nil && st == SendPending:
		// WeChat could not be reached: the ledger keeps the consent
		// reserved for the key; the row is tried again.
		return outcome{member: req.MemberID, state: DeliverySending, reason: "unreachable", detail: err.Error(), retry: true}, nil
	case err != nil:
		return outcome{}, err
	}
	return sendOutcome(req.MemberID, st), nil
}

// sendWeCom creates WeCom message templates for the chunk's members who
// are customers of the brand's staff: one add_msg_template per staff
// member, each with up to 10,000 customers.
func (s *Campaigns) sendWeCom(ctx context.Context, run campaignRunRow, camp campaignRow, owner string, a *WeComAction, sp span) error {
	if s.cfg.WeCom == nil {
		return fmt.Errorf("campaign run %s sends WeCom messages and WeCom is not connected", run.ID)
	}
	// A row still marked sending was in an add_msg_template call when its
	// worker stopped; whether WeCom took it is unknown, and sending again
	// could make it twice.
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewUpdate().Model((*deliveryRow)(nil)).Set("state = ?", DeliveryFailed).Set("reason = ?", "outcome_unknown").
			Set("updated_at = ?", s.now()).Where("run_id = ? AND channel = ? AND state = ?", run.ID, ChannelWeCom, DeliverySending)
		res, err := sp.whereUpdate(q).Exec(ctx)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		d := countDeltas{}
		d.move(bucket(ChannelWeCom, DeliverySending, ""), bucket(ChannelWeCom, DeliveryFailed, "outcome_unknown"), n)
		return addCounts(ctx, tx, run.ID, d)
	})
	if err != nil {
		return fmt.Errorf("settle unknown WeCom sends: %w", err)
	}
	for {
		if err := s.keepGoing(ctx, run, camp, owner); err != nil {
			return err
		}
		rows, err := s.pendingRows(ctx, s.db, run.ID, ChannelWeCom, sp, []string{DeliveryPending}, maxMassCustomers, false)
		if err != nil || len(rows) == 0 {
			return err
		}
		if err := s.wecomBatch(ctx, run, a, rows); err != nil {
			return err
		}
		if len(rows) < maxMassCustomers {
			return nil
		}
	}
}

// maxMassCustomers is add_msg_template's limit of customers per call.
const maxMassCustomers = 10000

func (s *Campaigns) wecomBatch(ctx context.Context, run campaignRunRow, a *WeComAction, rows []deliveryRow) error {
	members := make([]string, 0, len(rows))
	for _, r := range rows {
		members = append(members, r.MemberID)
	}
	// The staff member who added the customer first sends to them.
	var contacts []struct {
		MemberID       string `bun:"member_id"`
		ExternalUserID string `bun:"external_userid"`
		StaffUserID    string `bun:"staff_userid"`
	}
	if err := s.db.NewSelect().TableExpr("wecom_contacts AS w").
		ColumnExpr("m.id AS member_id, w.external_userid, w.staff_userid").
		Join("JOIN members AS m ON m.unionid = w.unionid").
		Where("m.id IN (?) AND m.unionid <> '' AND w.removed_at IS NULL", bun.In(members)).
		OrderExpr("w.added_at, w.staff_userid").Scan(ctx, &contacts); err != nil {
		return fmt.Errorf("read WeCom contacts: %w", err)
	}
	type target struct{ member, external string }
	bySender := map[string][]target{}
	chosen := map[string]bool{}
	for _, c := range contacts {
		if chosen[c.MemberID] {
			continue
		}
		chosen[c.MemberID] = true
		bySender[c.StaffUserID] = append(bySender[c.StaffUserID], target{c.MemberID, c.ExternalUserID})
	}
	var skipped []outcome
	var claim []string
	for _, m := range members {
		if chosen[m] {
			claim = append(claim, m)
		} else {
			skipped = append(skipped, outcome{member: m, state: DeliverySkipped, reason: "no_wecom_contact"})
		}
	}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := s.settle(ctx, tx, run.ID, ChannelWeCom, skipped); err != nil {
			return err
		}
		if len(claim) == 0 {
			return nil
		}
		_, err := tx.NewUpdate().Model((*deliveryRow)(nil)).Set("state = ?", DeliverySending).Set("updated_at = ?", s.now()).
			Where("run_id = ? AND channel = ? AND state = ? AND member_id IN (?)", run.ID, ChannelWeCom, DeliveryPending, bun.In(claim)).Exec(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("claim WeCom deliveries: %w", err)
	}
	senders := make([]string, 0, len(bySender))
	for k := range bySender {
		senders = append(senders, k)
	}
	sort.Strings(senders)
	for _, sender := range senders {
		targets := bySender[sender]
		if _, err := s.pace.take(ctx, "wecom-api", s.cfg.WeComRate, 1); err != nil {
			return err
		}
		ids := make([]string, 0, len(targets))
		for _, t := range targets {
			ids = append(ids, t.external)
		}
		res, callErr := s.cfg.WeCom.AddMsgTemplate(context.WithoutCancel(ctx), MassMessage{Sender: sender, ExternalUserIDs: ids, Text: a.Text, Attachments: a.Attachments})
		if s.hooks.afterSend != nil {
			if herr := s.hooks.afterSend(ChannelWeCom, sender); herr != nil {
				return herr
			}
		}
		failed := map[string]bool{}
		for _, f := range res.FailList {
			failed[f] = true
		}
		outs := make([]outcome, 0, len(targets))
		for _, t := range targets {
			var we *WeComError
			switch {
			case errors.As(callErr, &we):
				outs = append(outs, outcome{member: t.member, state: DeliveryFailed, reason: fmt.Sprintf("wecom_%d", we.Code), detail: we.Msg})
			case callErr != nil:
				outs = append(outs, outcome{member: t.member, state: DeliveryFailed, reason: "outcome_unknown", detail: callErr.Error()})
			case failed[t.external]:
				outs = append(outs, outcome{member: t.member, state: DeliveryFailed, reason: "not_sendable", detail: res.MsgID})
			default:
				outs = append(outs, outcome{member: t.member, state: DeliverySent, detail: res.MsgID})
			}
		}
		if err := s.settle(context.WithoutCancel(ctx), s.db, run.ID, ChannelWeCom, outs); err != nil {
			return err
		}
	}
	return nil
}
