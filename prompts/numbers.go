package prompts

import "strings"

var zhDigits = [10]string{"零", "一", "二", "三", "四", "五", "六", "七", "八", "九"}

var phoneKeys = map[rune]string{'#': "井", '＃': "井", '*': "星", '＊': "星"}

// zhCardinalUnits lists the characters after which a number of three or more digits is a
// quantity (365天, 100元) rather than a code or phone number (12315, 110).
const zhCardinalUnits = "天日月周个元块角分秒次位件条项人家岁倍小时钟"

// ChineseNumbers writes the digits of text as Chinese words, the way a speaker reads them:
//   - 1 or 2 digits, or more digits followed by a unit (天, 元, 个...), are a quantity:
//     15 -> 十五, 365天 -> 三百六十五天;
//   - other numbers of 3 or more digits, numbers with a leading 0, and years (followed by
//     年) are read digit by digit: 12315 -> 一二三一五, 2026年 -> 二零二六年;
//   - a time H:MM is read 8:30 -> 八点三十分, 20:00 -> 二十点;
//   - a decimal 3.5 -> 三点五;
//   - # and * are the phone keys 井号 and 星号.
//
// Full-width digits count as digits.
func ChineseNumbers(text string) string {
	var b strings.Builder
	rs := []rune(text)
	for i := 0; i < len(rs); {
		r := rs[i]
		if key, ok := phoneKeys[r]; ok {
			// 按#号键 already says 号; 按#键 needs it.
			b.WriteString(key)
			if i+1 >= len(rs) || rs[i+1] != '号' {
				b.WriteString("号")
			}
			i++
			continue
		}
		if !isDigit(r) {
			b.WriteRune(r)
			i++
			continue
		}
		a := digitRun(rs, i)
		j := i + len(a)
		// H:MM or HH:MM
		if j+2 < len(rs) && (rs[j] == ':' || rs[j] == '：') {
			if m := digitRun(rs, j+1); len(m) == 2 && len(a) <= 2 {
				b.WriteString(cardinal(a) + "点")
				if m != "00" {
					b.WriteString(cardinal(strings.TrimPrefix(m, "0")) + "分")
				}
				i = j + 1 + len(m)
				continue
			}
		}
		// decimal
		if j+1 < len(rs) && rs[j] == '.' && isDigit(rs[j+1]) {
			f := digitRun(rs, j+1)
			b.WriteString(quantity(a) + "点" + digitByDigit(f))
			i = j + 1 + len(f)
			continue
		}
		next := rune(0)
		if j < len(rs) {
			next = rs[j]
		}
		switch {
		case next == '年' || len(a) > 1 && a[0] == '0':
			b.WriteString(digitByDigit(a))
		case len(a) <= 2 || strings.ContainsRune(zhCardinalUnits, next):
			b.WriteString(quantity(a))
		default:
			b.WriteString(digitByDigit(a))
		}
		i = j
	}
	return b.String()
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' || r >= '０' && r <= '９' }

// digitRun returns the ASCII digits starting at rs[i].
func digitRun(rs []rune, i int) string {
	var b strings.Builder
	for ; i < len(rs) && isDigit(rs[i]); i++ {
		r := rs[i]
		if r >= '０' {
			r = r - '０' + '0'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func digitByDigit(ds string) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(zhDigits[d-'0'])
	}
	return b.String()
}

// quantity reads ds as a cardinal below 10^8, and digit by digit beyond (nobody says 亿 in
// a prompt).
func quantity(ds string) string {
	ds = strings.TrimLeft(ds, "0")
	if ds == "" {
		return zhDigits[0]
	}
	if len(ds) > 8 {
		return digitByDigit(ds)
	}
	return cardinal(ds)
}

// cardinal reads 0 <= ds < 10^8 as a number: 10 -> 十, 105 -> 一百零五, 20000 -> 二万.
func cardinal(ds string) string {
	ds = strings.TrimLeft(ds, "0")
	if ds == "" {
		return zhDigits[0]
	}
	if len(ds) > 4 {
		hi, lo := ds[:len(ds)-4], ds[len(ds)-4:]
		s := below10000(hi, false) + "万"
		lo = strings.TrimLeft(lo, "0")
		if lo == "" {
			return s
		}
		if len(lo) < 4 {
			s += "零"
		}
		return s + below10000(lo, true)
	}
	return below10000(ds, false)
}

// below10000 reads 1..9999 without leading zeros. inner is set for the low part of a larger
// number, where 10-19 keep their 一 (一万零一十五).
func below10000(ds string, inner bool) string {
	units := []string{"千", "百", "十", ""}[4-len(ds):]
	var b strings.Builder
	zero := false
	for k, c := range ds {
		d := c - '0'
		if d == 0 {
			zero = true
			continue
		}
		if zero {
			b.WriteString(zhDigits[0])
			zero = false
		}
		// 10-19 standing alone are 十, 十一...; elsewhere 一十.
		if !(d == 1 && units[k] == "十" && k == 0 && !inner) {
			b.WriteString(zhDigits[d])
		}
		b.WriteString(units[k])
	}
	return b.String()
}

// EnglishNumbers spaces out the digits of long numbers, codes and phone numbers (5 or more
// digits, or a leading 0) so that espeak-ng reads 12315 as "one two three one five" and not
// as a quantity. Shorter numbers are left to espeak-ng.
func EnglishNumbers(text string) string {
	var b strings.Builder
	rs := []rune(text)
	for i := 0; i < len(rs); {
		if !isDigit(rs[i]) || i > 0 && (rs[i-1] == '.' || rs[i-1] == ',') {
			b.WriteRune(rs[i])
			i++
			continue
		}
		a := digitRun(rs, i)
		j := i + len(a)
		decimal := j+1 < len(rs) && (rs[j] == '.' || rs[j] == ',' || rs[j] == ':') && isDigit(rs[j+1])
		if !decimal && (len(a) >= 5 || len(a) > 1 && a[0] == '0') {
			b.WriteString(strings.Join(strings.Split(a, ""), " "))
		} else {
			b.WriteString(a)
		}
		i = j
	}
	return b.String()
}
