package prompts

import "testing"

func TestChineseNumbers(t *testing.T) {
	tests := []struct{ in, want string }{
		{"欢迎致电12315", "欢迎致电一二三一五"},
		{"请拨打110报警", "请拨打一一零报警"},
		{"请按1，人工服务请按0", "请按一，人工服务请按零"},
		{"7个工作日", "七个工作日"},
		{"15个工作日", "十五个工作日"},
		{"45个工作日", "四十五个工作日"},
		{"365天", "三百六十五天"},
		{"105元", "一百零五元"},
		{"1000元", "一千元"},
		{"1005元", "一千零五元"},
		{"2026年", "二零二六年"},
		{"区号0931", "区号零九三一"},
		{"20000元", "二万元"},
		{"120015元", "十二万零一十五元"},
		{"8:30至20:00", "八点三十分至二十点"},
		{"8：05", "八点五分"},
		{"3.5元", "三点五元"},
		{"按#键结束", "按井号键结束"},
		{"按#号键结束", "按井号键结束"},
		{"返回请按*", "返回请按星号"},
		{"１２３１５", "一二三一五"},
		{"没有数字", "没有数字"},
	}
	for _, tt := range tests {
		if got := ChineseNumbers(tt.in); got != tt.want {
			t.Errorf("ChineseNumbers(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEnglishNumbers(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Call 12315 now", "Call 1 2 3 1 5 now"},
		{"press 2.", "press 2."},
		{"within 15 working days", "within 15 working days"},
		{"area code 0931", "area code 0 9 3 1"},
		{"3.5 yuan", "3.5 yuan"},
		{"at 8:30", "at 8:30"},
	}
	for _, tt := range tests {
		if got := EnglishNumbers(tt.in); got != tt.want {
			t.Errorf("EnglishNumbers(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
