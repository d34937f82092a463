/** A JUnit XML report read back with a real XML parser (fast-xml-parser), after checking it is well-formed XML 1.0. */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { expect } from 'vitest';
import { isXmlChars } from '#shared/sinks/xml.ts';

export interface Case {
  name: string;
  classname: string;
  failure?: { message: string; type: string; '#text': string };
  skipped?: { message: string; '#text': string };
}
export interface Suite {
  name: string;
  tests: string;
  failures: string;
  errors: string;
  skipped: string;
  timestamp: string;
  properties: { property: { name: string; value: string }[] };
  testcase: Case[];
}
export interface Junit {
  testsuites: { name: string; tests: string; failures: string; skipped: string; testsuite?: Suite[] };
}

/** Parses the XML with a real parser, after checking it is well-formed XML 1.0. */
export function parseJunit(xml: string): Junit {
  expect(isXmlChars(xml)).toBe(true);
  expect(XMLValidator.validate(xml)).toBe(true);
  return new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    textNodeName: '#text',
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: false,
    isArray: (name) => ['testsuite', 'testcase', 'property'].includes(name),
  }).parse(xml) as Junit;
}
