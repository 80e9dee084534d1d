package miniprogram

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Delivery modes and logistics types of upload_shipping_info.
const (
	deliveryUnified = 1
	deliverySplit   = 2

	logisticsExpress = 1
	logisticsMax     = 4

	// maxPackages is the longest shipping_list: the current page allows
	// [1, 15] packages (its older error table still says 10).
	maxPackages = 15
)

// ShippingItem is one package of a shipping upload.
type ShippingItem struct {
	TrackingNo     string           `json:"tracking_no,omitempty"`
	ExpressCompany string           `json:"express_company,omitempty"`
	ItemDesc       string           `json:"item_desc"`
	Contact        *ShippingContact `json:"contact,omitempty"`
}

// ShippingContact is a masked phone number of the sender or receiver.
type ShippingContact struct {
	ConsignorContact string `json:"consignor_contact,omitempty"`
	ReceiverContact  string `json:"receiver_contact,omitempty"`
}

// ShippingUpload is a shipping upload the platform accepted.
type ShippingUpload struct {
	OrderKey       OrderKey       `json:"order_key"`
	LogisticsType  int            `json:"logistics_type"`
	DeliveryMode   int            `json:"delivery_mode"`
	IsAllDelivered bool           `json:"is_all_delivered"`
	ShippingList   []ShippingItem `json:"shipping_list"`
	UploadTime     time.Time      `json:"upload_time"`
	PayerOpenID    string         `json:"payer_openid"`
	// Reship is set when the upload used the order's one re-shipping
	// chance (it changed a completed shipment).
	Reship     bool      `json:"reship"`
	ReceivedAt time.Time `json:"received_at"`
}

// shipment is the shipping state of one order.
type shipment struct {
	last      ShippingUpload
	finished  bool // every package is shipped
	reshipped bool
}

// shippingRequest is the body of upload_shipping_info. delivery_mode is a
// number in the field table and UNIFIED_DELIVERY / SPLIT_DELIVERY in its
// example; both are read.
type shippingRequest struct {
	OrderKey       *OrderKey       `json:"order_key"`
	LogisticsType  int             `json:"logistics_type"`
	DeliveryMode   json.RawMessage `json:"delivery_mode"`
	IsAllDelivered *bool           `json:"is_all_delivered"`
	ShippingList   []ShippingItem  `json:"shipping_list"`
	UploadTime     string          `json:"upload_time"`
	Payer          *struct {
		OpenID string `json:"openid"`
	} `json:"payer"`
}

// ShippingUploads lists the accepted shipping uploads, oldest first.
func (s *Server) ShippingUploads() []ShippingUpload {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ShippingUpload, len(s.uploads))
	for i, u := range s.uploads {
		u.ShippingList = slices.Clone(u.ShippingList)
		out[i] = u
	}
	return out
}

// serveShipping is POST wxa/sec/order/upload_shipping_info, with the
// documented checks and error codes. An order may be shipped once and
// re-shipped once (uploading again for a completed shipment, or changing its
// delivery mode or logistics type); an identical upload is 10060023.
func (s *Server) serveShipping(w http.ResponseWriter, r *http.Request) *wechatError {
	var req shippingRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	up, err := req.validate()
	if err != nil {
		return err
	}
	if s.cfg.FindPayment != nil {
		payer, found := s.cfg.FindPayment(up.OrderKey)
		if !found {
			return fail(10060001, "支付单不存在")
		}
		if payer != up.PayerOpenID {
			return fail(10060031, "该笔支付单不属于 openid 所指定的用户")
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	key := orderKey(up.OrderKey)
	st := s.shipments[key]
	if st != nil {
		if sameShipping(st.last, up) {
			return fail(10060023, "发货信息未更新")
		}
		if !up.UploadTime.After(st.last.UploadTime) {
			return fail(10060014, "参数错误: upload_time must be later than the previous upload")
		}
		changed := st.last.DeliveryMode != up.DeliveryMode || st.last.LogisticsType != up.LogisticsType
		if st.finished || changed {
			if st.reshipped {
				return fail(10060003, "支付单已使用重新发货机会")
			}
			up.Reship = true
		}
	} else {
		st = &shipment{}
		s.shipments[key] = st
	}
	up.ReceivedAt = s.cfg.Now()
	st.last = up
	st.reshipped = st.reshipped || up.Reship
	st.finished = up.DeliveryMode == deliveryUnified || up.IsAllDelivered
	s.uploads = append(s.uploads, up)
	writeJSON(w, okay)
	return nil
}

// validate applies the documented field checks, in the order of the
// platform's error table, and returns the upload they describe.
func (req *shippingRequest) validate() (ShippingUpload, *wechatError) {
	var up ShippingUpload
	if req.OrderKey == nil {
		return up, fail(268485194, "订单单号类型非法")
	}
	key := *req.OrderKey
	switch key.OrderNumberType {
	case 1:
		if key.MchID == "" {
			return up, fail(268485196, "商户侧单号形式下 mchid 字段不能为空")
		}
		if key.OutTradeNo == "" {
			return up, fail(268485197, "商户侧单号形式下 out_trade_no 字段不能为空")
		}
		key.TransactionID = ""
	case 2:
		if key.TransactionID == "" {
			return up, fail(268485195, "微信支付单号形式下 transaction_id 字段不能为空")
		}
		key.MchID, key.OutTradeNo = "", ""
	default:
		return up, fail(268485194, "订单单号类型非法")
	}
	if req.LogisticsType < 1 || req.LogisticsType > logisticsMax {
		return up, fail(10060005, "物流类型有误")
	}
	mode := deliveryMode(req.DeliveryMode)
	if mode == 0 {
		return up, fail(268485224, "发货模式非法")
	}
	if mode == deliverySplit {
		if req.LogisticsType != logisticsExpress {
			return up, fail(10060006, "非快递发货时不允许分拆发货")
		}
		if req.IsAllDelivered == nil {
			return up, fail(10060007, "分拆发货模式下必须填写 is_all_delivered 字段")
		}
	}
	switch n := len(req.ShippingList); {
	case n == 0:
		return up, fail(10060014, "参数错误: shipping_list is empty")
	case n > maxPackages:
		return up, fail(10060024, "物流信息列表太长")
	case mode == deliveryUnified && n != 1:
		return up, fail(268485228, "统一发货模式下，物流信息列表长度必须为 1")
	}
	for _, item := range req.ShippingList {
		if err := item.validate(req.LogisticsType); err != nil {
			return up, err
		}
	}
	at, err := time.Parse(time.RFC3339, req.UploadTime)
	if err != nil {
		return up, fail(268485216, "上传时间非法，请按照 RFC 3339 格式填写")
	}
	if req.Payer == nil || req.Payer.OpenID == "" {
		return up, fail(10060014, "参数错误: payer.openid is empty")
	}
	up = ShippingUpload{
		OrderKey:      key,
		LogisticsType: req.LogisticsType,
		DeliveryMode:  mode,
		ShippingList:  slices.Clone(req.ShippingList),
		UploadTime:    at,
		PayerOpenID:   req.Payer.OpenID,
	}
	if req.IsAllDelivered != nil {
		up.IsAllDelivered = *req.IsAllDelivered
	}
	return up, nil
}

// validate checks one package.
func (item ShippingItem) validate(logistics int) *wechatError {
	switch n := utf8.RuneCountInString(item.ItemDesc); {
	case strings.TrimSpace(item.ItemDesc) == "":
		return fail(10060008, "商品描述 item_desc 字段不能为空")
	case n > 120:
		return fail(10060009, "商品描述 item_desc 字段太长")
	}
	if logistics == logisticsExpress {
		switch {
		case item.TrackingNo == "":
			return fail(268485226, "物流单号不能为空")
		case item.ExpressCompany == "":
			return fail(268485227, "物流公司编码不能为空")
		}
	}
	switch {
	case len(item.TrackingNo) > 128:
		return fail(10060026, "物流单号太长")
	case len(item.ExpressCompany) > 128:
		return fail(10060025, "物流公司编码太长")
	}
	var contacts []string
	if item.Contact != nil {
		contacts = []string{item.Contact.ConsignorContact, item.Contact.ReceiverContact}
	}
	given := slices.DeleteFunc(contacts, func(c string) bool { return c == "" })
	if item.ExpressCompany == "SF" && len(given) == 0 {
		return fail(10060014, "参数错误: contact is required for SF Express")
	}
	for _, c := range given {
		// Contacts are masked, but the last four digits must stay readable.
		if len(c) > 1024 || len(c) < 4 || strings.Trim(c[len(c)-4:], "0123456789") != "" {
			return fail(10060014, "参数错误: contact must end with 4 unmasked digits")
		}
	}
	return nil
}

// deliveryMode reads delivery_mode as a number or its enum name; 0 means
// invalid.
func deliveryMode(raw json.RawMessage) int {
	var v any
	_ = json.Unmarshal(raw, &v)
	switch v {
	case float64(deliveryUnified), "UNIFIED_DELIVERY":
		return deliveryUnified
	case float64(deliverySplit), "SPLIT_DELIVERY":
		return deliverySplit
	}
	return 0
}

// orderKey names an order for the shipping state.
func orderKey(k OrderKey) string {
	if k.OrderNumberType == 2 {
		return "transaction:" + k.TransactionID
	}
	return "merchant:" + k.MchID + "/" + k.OutTradeNo
}

// sameShipping reports whether b repeats a apart from its upload time.
func sameShipping(a, b ShippingUpload) bool {
	return a.LogisticsType == b.LogisticsType && a.DeliveryMode == b.DeliveryMode &&
		a.IsAllDelivered == b.IsAllDelivered && reflect.DeepEqual(a.ShippingList, b.ShippingList)
}
