/**
 * The HTML reports as a browser reads them: parsed by parse5 (the WHATWG parsing algorithm, as
 * browsers run it), then walked. What a test finds here is what a browser would build.
 */
import { type DefaultTreeAdapterTypes, parse } from 'parse5';

export type HtmlNode = DefaultTreeAdapterTypes.ChildNode | DefaultTreeAdapterTypes.Document;
export type HtmlElement = DefaultTreeAdapterTypes.Element;

export function parseHtml(text: string): DefaultTreeAdapterTypes.Document {
  return parse(text);
}

/** Every element under `node` (document order), `<template>` contents included. */
export function elements(node: HtmlNode | DefaultTreeAdapterTypes.DocumentFragment): HtmlElement[] {
  const out: HtmlElement[] = [];
  const walk = (n: HtmlNode | DefaultTreeAdapterTypes.DocumentFragment) => {
    if ('tagName' in n) out.push(n);
    if ('childNodes' in n) for (const child of n.childNodes) walk(child);
    if ('content' in n && n.content) walk(n.content);
  };
  walk(node);
  return out;
}

export function attr(element: HtmlElement, name: string): string | undefined {
  return element.attrs.find((a) => a.name === name)?.value;
}

/** The text of a node, as `textContent` reads it. */
export function textOf(node: HtmlNode): string {
  if (node.nodeName === '#text') return (node as DefaultTreeAdapterTypes.TextNode).value;
  if ('childNodes' in node) return node.childNodes.map((c) => textOf(c)).join('');
  return '';
}

/** Elements with the class (as a whole word). */
export function byClass(node: HtmlNode, name: string): HtmlElement[] {
  return elements(node).filter((e) => (attr(e, 'class') ?? '').split(/\s+/).includes(name));
}

/** Every URL-bearing place of the page: src, href, xlink:href, action, poster, srcset, CSS url(). */
export function externalReferences(doc: HtmlNode): string[] {
  const found: string[] = [];
  for (const e of elements(doc)) {
    for (const a of e.attrs) {
      if (['src', 'srcset', 'action', 'formaction', 'poster', 'data', 'background'].includes(a.name))
        found.push(`${e.tagName} ${a.name}=${a.value}`);
      if ((a.name === 'href' || a.name === 'xlink:href') && !a.value.startsWith('#'))
        found.push(`${e.tagName} ${a.name}=${a.value}`);
      if (/url\s*\(|@import/i.test(a.value)) found.push(`${e.tagName} ${a.name}=${a.value}`);
    }
    if (e.tagName === 'style' && /url\s*\(|@import/i.test(textOf(e))) found.push('style url()');
    if (
      ['script', 'iframe', 'object', 'embed', 'link', 'base', 'img', 'form', 'image', 'use'].includes(
        e.tagName,
      )
    )
      found.push(`<${e.tagName}>`);
    if (e.tagName === 'meta' && attr(e, 'http-equiv')?.toLowerCase() === 'refresh')
      found.push('meta refresh');
  }
  return found;
}
