// Judges form data the way a host's react-jsonschema-form does, for the Python test suite.
//
// Reads one JSON document on stdin: {forms: {key: {schema, uiSchema}}, cases: [{form, data}]}.
// For each rjsf version installed under the given folders (argv[2..], each holding a
// package.json and node_modules), it builds the validator as a host would
// (customizeValidator from @rjsf/validator-ajv8, with the connector's custom formats), fills
// defaults with getDefaultFormState as the Form does, and validates each case four ways: the data
// as the host loaded it, and as typed into the form (a cleared text field is undefined); each
// against the whole schema (what rjsf 6 checks on submit) and against the schema rjsf resolves
// for that data (conditions merged: what rjsf 5, and live validation, check).
// It also compiles every schema with Ajv in strict mode. Writes one JSON document on stdout.
'use strict';
const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

// The custom formats the connector's forms use (its README shows hosts the same code).
const BLANK = /^[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]*$/u;
const customFormats = {
  'json-text': (text) => {
    if (BLANK.test(text)) return true; // blank text counts as not given
    try {
      JSON.parse(text);
      return true;
    } catch (e) {
      return false;
    }
  },
};

function version(dir, pkg) {
  const file = path.join(dir, 'node_modules', ...pkg.split('/'), 'package.json');
  return JSON.parse(fs.readFileSync(file, 'utf8')).version;
}

function typed(data) {
  // rjsf's text widgets turn a cleared field into undefined (their emptyValue).
  if (!data || typeof data !== 'object' || Array.isArray(data)) return data;
  const out = {};
  for (const [key, value] of Object.entries(data)) {
    if (value !== '') out[key] = value;
  }
  return out;
}

function errorsOf(validator, data, schema, uiSchema) {
  const { errors } = validator.validateFormData(data, schema, undefined, undefined, uiSchema);
  return errors.map((e) => ({ property: e.property ?? null, name: e.name ?? null, message: e.message ?? e.stack }));
}

function judge(dir, forms, cases, warnings) {
  const req = createRequire(path.join(path.resolve(dir), 'package.json'));
  const { customizeValidator } = req('@rjsf/validator-ajv8');
  const utils = req('@rjsf/utils');
  const validator = customizeValidator({ customFormats });
  // Ajv caches a compiled schema by the object: the same resolved schema, as one object.
  const seen = new Map();
  const same = (schema) => {
    const text = JSON.stringify(schema);
    if (!seen.has(text)) seen.set(text, schema);
    return seen.get(text);
  };
  const results = [];
  for (const c of cases) {
    const { schema, uiSchema } = forms[c.form];
    const out = {};
    for (const [variant, input] of [['raw', c.data], ['typed', typed(c.data)]]) {
      const formData = JSON.parse(JSON.stringify(utils.getDefaultFormState(validator, schema, input, schema) ?? {}));
      const resolved = same(utils.retrieveSchema(validator, schema, schema, formData));
      out[variant] = {
        formData,
        full: errorsOf(validator, formData, schema, uiSchema),
        resolved: errorsOf(validator, formData, resolved, uiSchema),
      };
    }
    results.push(out);
  }
  return { version: version(dir, '@rjsf/validator-ajv8'), results };
}

function strictCompile(dir, forms) {
  const req = createRequire(path.join(path.resolve(dir), 'package.json'));
  const Ajv = req('ajv');
  const addFormats = req('ajv-formats');
  const out = {};
  for (const [key, { schema }] of Object.entries(forms)) {
    const logged = [];
    const logger = { log() {}, warn: (...m) => logged.push(m.join(' ')), error: (...m) => logged.push(m.join(' ')) };
    // strict: every strict-mode rule (unknown keywords and formats, ignored keywords, types,
    // required properties that are not defined). Union types are allowed: they are how a
    // number field also takes a host's text for it.
    const ajv = new Ajv({ strict: true, allowUnionTypes: true, allErrors: true, logger });
    addFormats(ajv);
    for (const [name, check] of Object.entries(customFormats)) ajv.addFormat(name, check);
    try {
      ajv.compile(schema);
    } catch (e) {
      logged.push(e.message);
    }
    out[key] = logged;
  }
  return { ajv: req('ajv/package.json').version, problems: out };
}

function main() {
  const input = JSON.parse(fs.readFileSync(0, 'utf8'));
  const dirs = process.argv.slice(2);
  const warnings = [];
  const original = { warn: console.warn, error: console.error };
  console.warn = (...m) => warnings.push(m.join(' '));
  console.error = (...m) => warnings.push(m.join(' '));
  const output = { rjsf: {}, strict: null, console: warnings };
  try {
    for (const dir of dirs) {
      output.rjsf[dir] = judge(dir, input.forms, input.cases, warnings);
    }
    output.strict = strictCompile(dirs[0], input.forms);
  } finally {
    console.warn = original.warn;
    console.error = original.error;
  }
  process.stdout.write(JSON.stringify(output));
}

main();
