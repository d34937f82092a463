/**
 * The Slack sink (AWS Chatbot custom notifications, `client-markdown`): Slack reads `<...>` as a
 * link or a mention (`<https://x|click>`, `<!channel>`), `*_~` and backticks as formatting, and
 * links bare addresses. A value from a cluster goes into an inline code span, where Slack applies
 * no formatting and makes no link, after `&`, `<` and `>` are escaped as Slack requires and any
 * backtick (which would close the span) is replaced by `ˋ` (U+02CB); dangerous characters are
 * shown escaped and long runs cut (untrusted.ts).
 */
import { visible } from './untrusted.ts';

/** Slack's three escapes; anything else is literal inside a code span. */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A value as inline code: shown as it is, never formatting, a link or a mention. */
export function slackCode(text: string): string {
  const body = escapeSlack(visible(text, { oneLine: true })).replace(/`/g, '\u02CB');
  return `\`${body === '' ? ' ' : body}\``;
}

/**
 * Text that mixes the template's words with values (a finding's message): in a code block when it
 * holds anything Slack would act on, else as is.
 */
export function forSlack(text: string): string {
  const shown = visible(text, { oneLine: true });
  if (!/[<>&*_~`|]|:\/\/|\bwww\.|@/.test(shown)) return shown;
  return slackCode(shown);
}
