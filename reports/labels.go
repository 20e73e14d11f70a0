package reports

import "fmt"

// Lang is the language a report is written in.
type Lang string

// Report languages.
const (
	Chinese Lang = "zh"
	English Lang = "en"
)

// ParseLang reads "zh" or "en"; empty is Chinese (the reports go to every level of the
// administration).
func ParseLang(s string) (Lang, error) {
	switch s {
	case "", "zh":
		return Chinese, nil
	case "en":
		return English, nil
	}
	return "", fmt.Errorf("lang %q: want zh or en", s)
}

type bilingual struct{ zh, en string }

func (b bilingual) in(l Lang) string {
	if l == English {
		return b.en
	}
	return b.zh
}

// labels names every key a report shows. A key without a label is shown as itself.
var labels = map[string]bilingual{
	// Case kinds.
	"consult": {"咨询", "Consultation"}, "complaint": {"投诉", "Complaint"}, "report": {"举报", "Report"},
	"suggestion": {"建议", "Suggestion"}, "opinion": {"意见", "Opinion"}, "help": {"求助", "Request for help"},
	"invalid": {"无效来电", "Invalid call"},
	// Channels.
	"phone": {"电话", "Phone"}, "voicemail": {"留言", "Voicemail"}, "web": {"网络", "Web"}, "sms": {"短信", "SMS"},
	"wechat": {"微信", "WeChat"}, "letter": {"来信", "Letter"}, "visit": {"来访", "Visit"},
	"handover_12345": {"12345转办", "Handed over by 12345"},
	// Goods and service classes.
	"goods.food": {"商品·食品", "Goods: food"}, "goods.clothing": {"商品·服装鞋帽", "Goods: clothing"},
	"goods.vehicles": {"商品·交通工具", "Goods: vehicles"}, "goods.household": {"商品·日用商品", "Goods: household"},
	"goods.appliances": {"商品·家用电器", "Goods: appliances"}, "goods.telecom": {"商品·通讯产品", "Goods: telecom products"},
	"goods.other":                 {"商品·其他", "Goods: other"},
	"services.catering_lodging":   {"服务·餐饮住宿", "Services: catering and lodging"},
	"services.education_training": {"服务·教育培训", "Services: education and training"},
	"services.beauty":             {"服务·美容美发", "Services: beauty"}, "services.culture_sport": {"服务·文化体育", "Services: culture and sport"},
	"services.sales": {"服务·销售服务", "Services: sales"}, "services.other": {"服务·其他", "Services: other"},
	Unclassified: {"未分类", "Unclassified"}, Unassigned: {"未分派", "Unassigned"},
	// Survey results.
	"very_satisfied": {"非常满意", "Very satisfied"}, "satisfied": {"满意", "Satisfied"}, "neutral": {"一般", "Neutral"},
	"dissatisfied": {"不满意", "Dissatisfied"}, "unreachable": {"未联系上", "Unreachable"},
	// Figures.
	"received":            {"登记总量", "Cases received"},
	"inbound_calls":       {"呼入总量", "Inbound calls"},
	"offered":             {"人工请求量", "Calls offered to agents"},
	"answered":            {"人工接通量", "Calls answered by agents"},
	"answered_in_sl":      {"服务水平内接通量", "Answered within the threshold"},
	"abandoned":           {"放弃量", "Calls abandoned"},
	"answer_rate":         {"接通率", "Answer rate"},
	"service_level":       {"服务水平", "Service level"},
	"abandon_rate":        {"放弃率", "Abandon rate"},
	"avg_answer_wait":     {"平均等待时长(秒)", "Average wait before answer (s)"},
	"closure_rate":        {"办结率", "Closure rate"},
	"closed":              {"办结量", "Cases closed"},
	"on_time_rate":        {"限时办结率", "On-time closure rate"},
	"satisfaction":        {"回访满意率", "Callback satisfaction"},
	"loss_recovered":      {"挽回经济损失(元)", "Losses recovered (yuan)"},
	"overdue_total":       {"超期未办结", "Overdue open cases"},
	"service_level_limit": {"服务水平阈值(秒)", "Service level threshold (s)"},
	// Sections.
	"section.summary":    {"概况", "Summary"},
	"section.kind":       {"按类型", "By type"},
	"section.channel":    {"按渠道", "By channel"},
	"section.class":      {"按商品服务类别", "By goods or service class"},
	"section.region":     {"按地区", "By region"},
	"section.calls":      {"话务", "Calls"},
	"section.handling":   {"办理", "Handling"},
	"section.survey":     {"回访", "Callback surveys"},
	"section.overdue":    {"超期案件(按承办单位)", "Overdue cases by office"},
	"section.daily":      {"每日", "Daily"},
	"title.daily":        {"12315热线日情况通报", "12315 hotline daily situation report"},
	"title.monthly":      {"12315热线月度情况通报", "12315 hotline monthly situation report"},
	"period":             {"统计期间", "Period"},
	"as_of":              {"截至", "As of"},
	"generated":          {"生成时间", "Generated"},
	"none":               {"无", "None"},
	"print":              {"打印", "Print"},
	"office":             {"承办单位", "Office"},
	"oldest_due":         {"最早到期", "Oldest due"},
	"cases":              {"案件编号", "Case numbers"},
	"count":              {"数量", "Count"},
	"rate":               {"比率", "Rate"},
	"definitions":        {"口径说明", "Definitions"},
	"chart.daily":        {"每日登记与话务", "Cases and calls per day"},
	"legend.received":    {"登记", "Received"},
	"legend.offered":     {"人工请求", "Offered"},
	"legend.answered":    {"接通", "Answered"},
	"legend.abandoned":   {"放弃", "Abandoned"},
	"header.section":     {"分项", "Section"},
	"header.key":         {"代码", "Key"},
	"header.item":        {"项目", "Item"},
	"header.value":       {"数值", "Value"},
	"header.numerator":   {"分子", "Numerator"},
	"header.denominator": {"分母", "Denominator"},
}

// label names key in l.
func label(key string, l Lang) string {
	if b, ok := labels[key]; ok {
		return b.in(l)
	}
	return key
}

// definitions explain the rates on the page and in the CLI's help.
var definitions = []bilingual{
	{"接通率 = 人工接通量 / 人工请求量（菜单转入人工队列的呼入）。", "Answer rate = calls answered by an agent / calls the menu offered to a queue."},
	{"服务水平 = 等待不超过阈值即被接通的呼入 / 人工请求量。", "Service level = calls answered within the threshold / calls offered."},
	{"放弃率 = 排队中挂机的呼入 / 人工请求量。", "Abandon rate = calls whose caller hung up while waiting / calls offered."},
	{"办结率 = 本期登记（无效来电除外）且截至统计时点已办结的案件 / 本期登记案件（无效来电除外）。", "Closure rate = cases received in the period (invalid calls excepted) closed by the as-of time / cases received in the period (invalid calls excepted)."},
	{"限时办结率 = 本期办结且在到期时间前办结的案件 / 本期办结且有到期时间的案件。", "On-time closure rate = cases closed in the period before their due time / cases closed in the period that have a due time."},
	{"回访满意率 = 非常满意与满意 / 联系上的回访。", "Callback satisfaction = very satisfied and satisfied / surveys that reached the person."},
	{"挽回经济损失 = 本期办结案件的挽回损失之和。", "Losses recovered = the sum recovered on the cases closed in the period."},
	{"超期未办结 = 截至统计时点已过到期时间仍未办结的案件，按承办单位统计。", "Overdue = cases past their due time and not closed at the as-of time, by handling office."},
}
