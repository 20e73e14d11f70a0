package prompts

import (
	"reflect"
	"strings"
	"testing"
)

func TestPinyin(t *testing.T) {
	tests := []struct{ in, want string }{
		{"您好，欢迎致电幺二三幺五。", "nin2 hao3, huan1 ying2 zhi4 dian4 yao1 er4 san1 yao1 wu3."},
		{"欢迎致电12315", "huan1 ying2 zhi4 dian4 yi1 er4 san1 yi1 wu3"},
		// Neutral tones get a 5.
		{"您的案件", "nin2 de5 an4 jian4"},
		// Polyphones of the hotline's vocabulary.
		{"请重新输入", "qing3 chong2 xin1 shu1 ru4"},
		{"正在处理", "zheng4 zai4 chu3 li3"},
		{"调解结束", "tiao2 jie3 jie2 shu4"},
		{"节假日", "jie2 jia4 ri4"},
		{"违法行为", "wei2 fa3 xing2 wei2"},
		// 不 before a fourth tone.
		{"不是", "bu2 shi4"},
		{"对不起", "dui4 bu4 qi3"},
		{"按#号键结束！", "an4 jing3 hao4 jian4 jie2 shu4!"},
		{"质量、价格；（食品）", "zhi4 liang4, jia4 ge2, shi2 pin3"},
	}
	for _, tt := range tests {
		got, err := Pinyin(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("Pinyin(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSpoken(t *testing.T) {
	zh, en := DefaultVoices["zh"], DefaultVoices["en"]
	plainZh := zh
	plainZh.Latin = nil
	tests := []struct {
		name string
		v    Voice
		in   string
		want []Segment
	}{
		{"Mandarin", zh, "请按一。", []Segment{{plainZh, "qing3 an4 yi1."}}},
		{"bilingual", zh, "普通话服务请按一。For English, please press 2.", []Segment{
			{plainZh, "pu3 tong1 hua4 fu2 wu4 qing3 an4 yi1."}, {en, "For English, please press 2."}}},
		{"English word inside Chinese", zh, "请下载APP后再试", []Segment{
			{plainZh, "qing3 xia4 zai4"}, {en, "APP"}, {plainZh, "hou4 zai4 shi4"}}},
		{"English", en, "Dial  12315,\nplease.", []Segment{{en, "Dial 1 2 3 1 5, please."}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.v.Spoken(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Spoken(%q) =\n%+v\nwant\n%+v", tt.in, got, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "  ", "。！"} {
		if _, err := zh.Spoken(bad); err == nil {
			t.Errorf("Spoken(%q): want an error", bad)
		}
	}
	if _, err := zh.Spoken("请按\U00030000"); err == nil || !strings.Contains(err.Error(), "no reading") {
		t.Errorf("unknown character: err = %v", err)
	}
}
