/**
 * AWS Chatbot (now "Amazon Q Developer in chat applications") custom notifications, for Slack
 * and Microsoft Teams channels subscribed to the topic.
 *
 * Schema (docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html, "Event schema"):
 * `version` must be "1.0", `source` must be "custom", `id` is optional; `content.textType` only
 * supports "client-markdown" (rendered in the chat platform's markdown, Slack style: `*bold*`,
 * backticks, `<url|text>` links, emoji shortcodes); `content.description` is required, `title`,
 * `nextSteps` (a bulleted list) and `keywords` (inline tags) are optional; `metadata` holds
 * `threadId` (notifications with the same threadId are grouped in a thread), `summary`,
 * `eventType`, `relatedResources` and `additionalContext` (string to string).
 *
 * Field limits, from the same page's parameter table as restated by a client that implements it:
 * title at most 250 characters, description 8,000, each next step 350, each keyword 75.
 * They are counted here in UTF-16 code units, which is never less than the characters however
 * they are counted. Commands are never cut: a step or command that does not fit is left out.
 */
import { escapeSlack, slackCode } from '../sinks/slack.ts';
import { cleanText, clip, composeText, oneLine, type TextPart } from './text.ts';

export const CHATBOT_TITLE_MAX_CHARS = 250;
export const CHATBOT_DESCRIPTION_MAX_CHARS = 8000;
export const CHATBOT_NEXT_STEP_MAX_CHARS = 350;
export const CHATBOT_KEYWORD_MAX_CHARS = 75;
/** Our own caps, to keep the chat message short; the schema sets none. */
export const CHATBOT_MAX_NEXT_STEPS = 4;
export const CHATBOT_MAX_KEYWORDS = 6;

export interface ChatbotCustomNotification {
  readonly version: '1.0';
  readonly source: 'custom';
  readonly id?: string;
  readonly content: {
    readonly textType: 'client-markdown';
    readonly title: string;
    readonly description: string;
    readonly nextSteps?: readonly string[];
    readonly keywords?: readonly string[];
  };
  readonly metadata?: {
    readonly threadId?: string;
    readonly summary?: string;
    readonly eventType?: string;
    readonly additionalContext?: Readonly<Record<string, string>>;
  };
}

export interface ChatbotInput {
  readonly id: string;
  readonly title: string;
  /** The description's lines and lists; lists share what the fixed lines leave, in order. */
  readonly description: readonly TextPart[];
  /** Characters the description may use (at most CHATBOT_DESCRIPTION_MAX_CHARS). */
  readonly descriptionMaxChars: number;
  readonly nextSteps: readonly string[];
  readonly keywords: readonly string[];
  readonly threadId?: string;
  readonly summary: string;
  readonly eventType: string;
  readonly additionalContext: Readonly<Record<string, string>>;
}

/** Builds the notification within Chatbot's limits. */
export function chatbotNotification(input: ChatbotInput): ChatbotCustomNotification {
  const limit = Math.min(input.descriptionMaxChars, CHATBOT_DESCRIPTION_MAX_CHARS);
  // composeText counts a newline after the last line too: the result is at most `limit`.
  const description = composeText(input.description, (text) => text.length, limit).text;
  const nextSteps = input.nextSteps
    .filter((step) => step.length > 0 && step.length <= CHATBOT_NEXT_STEP_MAX_CHARS)
    .slice(0, CHATBOT_MAX_NEXT_STEPS);
  const keywords = [
    ...new Set(input.keywords.map((k) => clip(oneLine(k), CHATBOT_KEYWORD_MAX_CHARS)).filter(Boolean)),
  ].slice(0, CHATBOT_MAX_KEYWORDS);
  return {
    version: '1.0',
    source: 'custom',
    id: clip(oneLine(input.id), 256),
    content: {
      textType: 'client-markdown',
      title: clip(oneLine(input.title), CHATBOT_TITLE_MAX_CHARS),
      description,
      ...(nextSteps.length > 0 ? { nextSteps } : {}),
      ...(keywords.length > 0 ? { keywords } : {}),
    },
    metadata: {
      ...(input.threadId ? { threadId: clip(oneLine(input.threadId), 256) } : {}),
      summary: clip(oneLine(input.summary), CHATBOT_TITLE_MAX_CHARS),
      eventType: input.eventType,
      additionalContext: Object.fromEntries(
        Object.entries(input.additionalContext)
          .map(([key, value]) => [key, clip(oneLine(value), 256)])
          .filter(([, value]) => value !== ''),
      ),
    },
  };
}

/** Text shown as inline code, where Slack makes no link, mention nor formatting (shared/sinks/slack.ts). */
export function code(text: string): string {
  return slackCode(oneLine(text));
}

/** A multi-line command as a code block (Slack's escapes applied), or null when it is too long or would break the block. */
export function codeBlock(command: string, maxChars: number): string | null {
  const body = escapeSlack(cleanText(command));
  if (body.includes('```') || body.length + 6 > maxChars) return null;
  return `\`\`\`${body}\`\`\``;
}

/** A Slack-style link `<url|text>`, or the bare URL when it holds characters the syntax reserves. */
export function link(url: string, text: string): string {
  const target = oneLine(url);
  return /[<>|\s]/.test(target) ? target : `<${target}|${text}>`;
}
