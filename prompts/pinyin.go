package prompts

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/mozillazg/go-pinyin"
)

// phrases corrects go-pinyin, which knows one reading per character and no words, for the
// polyphones of the hotline's vocabulary. Keys are matched longest first.
var phrases = map[string]string{
	"重新": "chong2 xin1",
	"重复": "chong2 fu4",
	"重拨": "chong2 bo1",
	"处理": "chu3 li3",
	"处罚": "chu3 fa2",
	"调解": "tiao2 jie3",
	"调整": "tiao2 zheng3",
	"假日": "jia4 ri4",
	"假期": "jia4 qi1",
	"放假": "fang4 jia4",
	"休假": "xiu1 jia4",
	"觉得": "jue2 de5",
	"便宜": "pian2 yi5",
	"银行": "yin2 hang2",
	"行业": "hang2 ye4",
	"行为": "xing2 wei2",
	"作为": "zuo4 wei2",
	"认为": "ren4 wei2",
	"成为": "cheng2 wei2",
	"了解": "liao3 jie3",
	"长期": "chang2 qi1",
	"时长": "shi2 chang2",
	"退还": "tui4 huan2",
	"返还": "fan3 huan2",
	"还款": "huan2 kuan3",
	"相应": "xiang1 ying4",
	"着急": "zhao2 ji2",
	"得到": "de2 dao4",
	"记得": "ji4 de5",
}

var phraseMaxLen = func() int {
	n := 0
	for k := range phrases {
		n = max(n, len([]rune(k)))
	}
	return n
}()

// punctuation maps Chinese punctuation to what espeak-ng pauses on; brackets and quotes
// become spaces.
var punctuation = map[rune]string{
	'，': ", ", '、': ", ", '；': ", ", '：': ", ", '。': ". ", '！': "! ", '？': "? ", '…': ". ",
	'（': " ", '）': " ", '《': " ", '》': " ", '“': " ", '”': " ", '‘': " ", '’': " ", '「': " ", '」': " ",
	'—': ", ", '·': " ",
}

// Pinyin turns Mandarin text into tone-numbered pinyin for espeak-ng's cmn-latn-pinyin
// voice: numbers become Chinese words first (ChineseNumbers), neutral tones get a 5, and
// 不 takes the second tone before a fourth tone (不是 bu2 shi4); espeak-ng itself applies the
// third-tone rule. A Han character with no known reading is an error, so that a prompt is
// never silently shortened.
func Pinyin(text string) (string, error) {
	args := pinyin.NewArgs()
	args.Style = pinyin.Tone3
	args.Fallback = func(rune, pinyin.Args) []string { return nil }

	var out []string // syllables and punctuation, joined by spaces at the end
	rs := []rune(ChineseNumbers(text))
	for i := 0; i < len(rs); {
		r := rs[i]
		if !unicode.Is(unicode.Han, r) {
			if p, ok := punctuation[r]; ok {
				out = append(out, p)
			} else {
				out = append(out, string(r))
			}
			i++
			continue
		}
		j := i
		for j < len(rs) && unicode.Is(unicode.Han, rs[j]) {
			j++
		}
		syl, err := hanToPinyin(rs[i:j], args)
		if err != nil {
			return "", fmt.Errorf("pinyin of %q: %w", text, err)
		}
		out = append(out, " "+strings.Join(syl, " ")+" ")
		i = j
	}
	spaced := strings.Join(strings.Fields(strings.Join(out, "")), " ")
	return spaceBeforeMark.ReplaceAllString(spaced, "$1"), nil
}

var spaceBeforeMark = regexp.MustCompile(` ([,.!?;:])`)

// hanToPinyin converts a run of Han characters, phrases first.
func hanToPinyin(run []rune, args pinyin.Args) ([]string, error) {
	var syl []string
	for i := 0; i < len(run); {
		matched := false
		for n := min(phraseMaxLen, len(run)-i); n >= 2; n-- {
			if p, ok := phrases[string(run[i:i+n])]; ok {
				syl = append(syl, strings.Fields(p)...)
				i += n
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		py := pinyin.SinglePinyin(run[i], args)
		if len(py) == 0 {
			return nil, fmt.Errorf("no reading for %q", run[i])
		}
		s := py[0]
		if last := s[len(s)-1]; last < '1' || last > '4' {
			s += "5"
		}
		syl = append(syl, s)
		i++
	}
	for k := 0; k+1 < len(syl); k++ {
		if syl[k] == "bu4" && strings.HasSuffix(syl[k+1], "4") {
			syl[k] = "bu2"
		}
	}
	return syl, nil
}
