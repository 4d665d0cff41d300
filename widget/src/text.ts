// Everything the widget says by itself, in one place.

export const TEXT = {
  launcher: "在线客服",
  launcherUnread: (count: number) => `在线客服，${count}条未读消息`,
  subtitleBot: "智能客服小鹏 · 24小时在线",
  // `agent` is already a title such as 王客服.
  subtitleAgent: (agent: string) => `${agent}正在为您服务`,
  welcome: "您好！我是智能客服小鹏。网点营业时间、预约到网点办理业务、手机银行怎么用、调整每月扣款日，都可以问我。",
  largeText: "大字",
  largeTextOn: "切换为标准字号",
  largeTextOff: "切换为大字号",
  close: "关闭对话窗口",
  log: "对话记录",
  inputLabel: "输入您的问题",
  placeholder: "请输入您的问题，按回车发送",
  send: "发送",
  typing: "正在输入",
  agentTyping: (agent: string) => `${agent || "人工客服"}正在输入…`,
  image: "图片",
  attach: "发送图片或PDF文件给客服",
  // The server refuses these too (domain/handoff.yml); checked here so nothing large is uploaded in vain.
  fileTooLarge: "抱歉，这个文件太大，发送不了。请发送5MB以内的图片或PDF文件，照片可以截屏后再发。",
  fileSending: "正在发送文件…",
  pdf: (name: string) => `PDF文件：${name}`,
  you: "我",
  agent: (agent: string) => agent,
  agentJoined: (agent?: string) => `${agent || "人工客服"}已接入，接下来由人工为您服务`,
  agentLeft: "人工服务已结束，有问题可以继续问我",
  status: {
    connecting: "正在连接客服…",
    reconnecting: "网络不太稳定，正在重新连接…您的对话不会丢失",
    // The page's data-hotline is appended (chat.ts).
    refused: "暂时连不上，请稍后再试；急事请拨打24小时客服热线",
    online: "",
  },
  notSent: "网络不太稳定，消息没有发出，正在重新连接…连上后请再按一次发送",
};
