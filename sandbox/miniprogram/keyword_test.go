package miniprogram

import "testing"

func TestKeywordValid(t *testing.T) {
	tests := []struct {
		keyword, value string
		want           bool
	}{
		{"thing1", "春季新品发布会", true},
		{"thing1", "一二三四五六七八九十一二三四五六七八九十", true},
		{"thing1", "一二三四五六七八九十一二三四五六七八九十一", false},
		{"number2", "339208499", true},
		{"number2", "3.14", true},
		{"number2", "-3", false},
		{"number2", "123456789012345678901234567890123", false},
		{"letter3", "ABCdef", true},
		{"letter3", "ABC1", false},
		{"symbol4", "%@#", true},
		{"symbol4", "%@#!!!", false},
		{"symbol4", "a", false},
		{"character_string5", "SY2026030200001-A", true},
		{"character_string5", "订单1", false},
		{"character_string5", "has space", false},
		{"time6", "15:01", true},
		{"time6", "2019年10月1日 15:01", true},
		{"time6", "2026-03-02 20:00", true},
		{"time6", "2026-03-02 20:00~2026-03-02 22:00", true},
		{"time6", "2026-03-02", false},
		{"time6", "明天", false},
		{"date7", "2019年10月1日", true},
		{"date7", "2019年10月1日 15:01", true},
		{"date7", "2026/03/31", true},
		{"date7", "15:01", false},
		{"amount8", "¥29.90", true},
		{"amount8", "6000.00", true},
		{"amount8", "100元", true},
		{"amount8", "¥12345678901", false},
		{"amount8", "二十元", false},
		{"phone_number9", "+86-0766-66888866", true},
		{"phone_number9", "+86-0766-668888661234", false},
		{"phone_number9", "call me", false},
		{"car_number10", "粤A8Z888挂", true},
		{"car_number10", "粤A8Z8888挂9", false},
		{"car_number10", "粤A8中888", false},
		{"name11", "张三", true},
		{"name11", "John Smith", true},
		{"name11", "一二三四五六七八九十一", false},
		{"name11", "Bob007", false},
		{"phrase12", "配送中", true},
		{"phrase12", "货物配送中了", false},
		{"phrase12", "ok", false},
		{"enum13", "anything", true},
	}
	for _, tt := range tests {
		t.Run(tt.keyword+"/"+tt.value, func(t *testing.T) {
			if got := keywordValid(tt.keyword, tt.value); got != tt.want {
				t.Fatalf("keywordValid(%q, %q) = %v, want %v", tt.keyword, tt.value, got, tt.want)
			}
		})
	}
}
