package payments

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/credential"
	"github.com/silenceper/wechat/v2/miniprogram"
	mpconfig "github.com/silenceper/wechat/v2/miniprogram/config"
	"github.com/silenceper/wechat/v2/miniprogram/order"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/outbox"
)

// ShippingInfo is what WeChat needs to know of a shipment before it
// releases the funds of a mini-program order.
type ShippingInfo struct {
	MchID      string
	OutTradeNo string
	OpenID     string
	Carrier    string
	TrackingNo string
	ItemDesc   string
	// ReceiverContact is the receiver's masked phone, required by some
	// carriers (SF Express).
	ReceiverContact string
	UploadTime      time.Time
}

// Shipping uploads shipping information to WeChat
// (MiniProgramShipping implements it).
type Shipping interface {
	UploadShippingInfo(ctx context.Context, in ShippingInfo) error
}

// MiniProgramShipping is silenceper/wechat's order.Shipping
// (upload_shipping_info) with the access tokens Siyu manages.
type MiniProgramShipping struct {
	shipping *order.Shipping
}

// NewMiniProgramShipping returns a shipping client for the mini-program,
// taking access tokens from tokens (the shared, Redis-locked token store).
func NewMiniProgramShipping(appID, appSecret string, tokens credential.AccessTokenContextHandle) *MiniProgramShipping {
	// The SDK's own token handle needs a cache even though tokens replaces
	// it at once.
	mp := miniprogram.NewMiniProgram(&mpconfig.Config{AppID: appID, AppSecret: appSecret, Cache: cache.NewMemory()})
	mp.SetAccessTokenContextHandle(tokens)
	return &MiniProgramShipping{shipping: mp.GetShipping()}
}

// UploadShippingInfo implements Shipping: one express package, delivered
// in one go, keyed by merchant and out_trade_no.
func (m *MiniProgramShipping) UploadShippingInfo(_ context.Context, in ShippingInfo) error {
	at := in.UploadTime
	item := &order.ShippingInfo{TrackingNo: in.TrackingNo, ExpressCompany: in.Carrier, ItemDesc: in.ItemDesc}
	if in.ReceiverContact != "" {
		item.Contact.ReceiverContact = in.ReceiverContact
	}
	err := m.shipping.UploadShippingInfo(&order.UploadShippingInfoRequest{
		OrderKey:      &order.ShippingOrderKey{OrderNumberType: order.NumberTypeOutTradeNo, Mchid: in.MchID, OutTradeNo: in.OutTradeNo},
		LogisticsType: order.LogisticsTypeExpress,
		DeliveryMode:  order.DeliveryModeUnifiedDelivery,
		ShippingList:  []*order.ShippingInfo{item},
		UploadTime:    &at,
		Payer:         &order.ShippingPayer{Openid: in.OpenID},
	})
	if err != nil {
		return fmt.Errorf("upload shipping info of %s: %w", in.OutTradeNo, err)
	}
	return nil
}

// Ship records that a paid order left with a carrier (its WeChat express
// company code, such as SF or ZTO) under a tracking number, and uploads
// the shipping information to WeChat after commit, until it is accepted.
// Shipping again with the same carrier and number changes nothing.
func (s *Service) Ship(ctx context.Context, staffID, orderID, carrier, trackingNo string) (Order, error) {
	carrier, trackingNo = strings.TrimSpace(carrier), strings.TrimSpace(trackingNo)
	if carrier == "" || trackingNo == "" || len(carrier) > 64 || len(trackingNo) > 128 {
		return Order{}, fmt.Errorf("%w: carrier and tracking_no are required", ErrInvalidShipment)
	}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		o, err := lockOrder(ctx, tx, "id = ?", orderID)
		if err != nil {
			return err
		}
		if o.Status == StatusShipped && o.Carrier == carrier && o.TrackingNo == trackingNo {
			return nil
		}
		if o.Status != StatusPaid {
			return fmt.Errorf("%w: it is %s", ErrNotShippable, o.Status)
		}
		now := s.now()
		if _, err := tx.NewUpdate().Model((*orderRow)(nil)).Set("status = ?", StatusShipped).Set("shipped_at = ?", now).
			Set("carrier = ?", carrier).Set("tracking_no = ?", trackingNo).Set("updated_at = ?", now).
			Where("id = ?", o.ID).Exec(ctx); err != nil {
			return fmt.Errorf("ship order: %w", err)
		}
		if err := audit(ctx, tx, staffID, "order.ship", "order", o.ID, map[string]string{"carrier": carrier, "tracking_no": trackingNo}); err != nil {
			return err
		}
		return outbox.Add(ctx, tx, outbox.Message{
			ID:       "upload-shipping:" + o.ID,
			TaskType: TaskUploadShipping,
			Payload:  OrderTask{OrderID: o.ID},
		})
	})
	if err != nil {
		return Order{}, err
	}
	return s.Order(ctx, orderID)
}

// UploadShipping uploads a shipped order's shipping information to WeChat
// (the task Ship asks for). A failure is recorded on the order and
// returned, so the task is retried until WeChat accepts.
func (s *Service) UploadShipping(ctx context.Context, orderID string) error {
	r, items, err := loadOrder(ctx, s.db, orderID)
	if err != nil {
		return err
	}
	if r.ShippingUploadedAt != nil || r.ShippedAt == nil {
		return nil
	}
	if s.cfg.Shipping == nil {
		return fmt.Errorf("no shipping uploader configured")
	}
	o := r.order(items)
	desc := []rune(r.Description)
	if utf8.RuneCountInString(r.Description) > 120 {
		desc = desc[:120]
	}
	info := ShippingInfo{MchID: s.pay.MchID(), OutTradeNo: r.OutTradeNo, OpenID: r.PayerOpenID, Carrier: r.Carrier,
		TrackingNo: r.TrackingNo, ItemDesc: string(desc), UploadTime: s.now()}
	if r.Carrier == "SF" {
		info.ReceiverContact = o.Address.maskedPhone()
	}
	if err := s.cfg.Shipping.UploadShippingInfo(ctx, info); err != nil {
		if _, uerr := s.db.NewUpdate().Model((*orderRow)(nil)).Set("shipping_error = ?", err.Error()).
			Where("id = ?", r.ID).Exec(ctx); uerr != nil {
			s.log.Error("record shipping upload failure", "order_id", r.ID, "err", uerr)
		}
		return err
	}
	if _, err := s.db.NewUpdate().Model((*orderRow)(nil)).Set("shipping_uploaded_at = ?", s.now()).Set("shipping_error = ''").
		Where("id = ?", r.ID).Exec(ctx); err != nil {
		return fmt.Errorf("record shipping upload: %w", err)
	}
	return nil
}
