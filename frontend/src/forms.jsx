// rjsf forms as the manifests declare them: the connector's custom formats, its friendly
// messages (ui:options.messages, by JSON Schema keyword), and the service's own field errors
// (by_field) shown under their fields.
import Form from '@rjsf/core';
import { customizeValidator } from '@rjsf/validator-ajv8';

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

export const validator = customizeValidator({ customFormats });

function topField(property) {
  // ".org" or ".data.0" -> "org"
  return (property || '').replace(/^\./, '').split(/[.[]/)[0];
}

export function friendlyErrors(uiSchema) {
  return (errors) => errors.map((error) => {
    const name = error.name === 'required' ? error.params?.missingProperty : topField(error.property);
    const messages = uiSchema?.[name]?.['ui:options']?.messages;
    const message = messages?.[error.name];
    return message ? { ...error, message, stack: `${name} ${message}` } : error;
  });
}

// {field: ["message"]} from the service -> rjsf's extraErrors tree.
export function extraErrorsOf(byField) {
  if (!byField) return undefined;
  const tree = {};
  for (const [field, messages] of Object.entries(byField)) {
    const name = topField(`.${field}`) || field;
    tree[name] = tree[name] || { __errors: [] };
    tree[name].__errors.push(...messages.map((m) => (name === field ? m : `${field}: ${m}`)));
  }
  return tree;
}

// The fields a manifest marks advanced go in a collapsed section after the others (the
// uiSchema already orders them last); it opens when one of them has a value of its own (not
// its default) or an error.
function ObjectFieldTemplate({ properties, description, uiSchema, formData, errorSchema, idSchema, schema }) {
  const advanced = (name) => uiSchema?.[name]?.['ui:options']?.advanced === true;
  const plain = properties.filter((p) => !advanced(p.name));
  const more = properties.filter((p) => advanced(p.name));
  const given = (name) => (formData?.[name] ?? '') !== '' && formData?.[name] !== schema?.properties?.[name]?.default;
  const open = more.some((p) => given(p.name) || errorSchema?.[p.name]);
  return (
    <fieldset id={idSchema?.$id}>
      {description && <p className="field-description">{description}</p>}
      {plain.map((p) => p.content)}
      {more.length > 0 && (
        <details className="advanced" open={open}>
          <summary>Advanced ({more.length})</summary>
          {more.map((p) => p.content)}
        </details>
      )}
    </fieldset>
  );
}

export function ManifestForm({ form, formData, onChange, onSubmit, byField, children, id }) {
  return (
    <Form
      id={id}
      schema={form.schema}
      uiSchema={form.uiSchema}
      formData={formData}
      validator={validator}
      templates={{ ObjectFieldTemplate }}
      transformErrors={friendlyErrors(form.uiSchema)}
      extraErrors={extraErrorsOf(byField)}
      showErrorList={false}
      noHtml5Validate
      onChange={(e) => onChange && onChange(e.formData)}
      onSubmit={(e) => onSubmit(e.formData)}
    >
      {children}
    </Form>
  );
}

// The connection form for editing: secrets already saved are not required, and say so.
export function editableConnectionForm(form, secretFields, configured) {
  const schema = JSON.parse(JSON.stringify(form.schema));
  const uiSchema = JSON.parse(JSON.stringify(form.uiSchema || {}));
  for (const name of secretFields) {
    const text = schema.properties?.[name]?.type === 'string';
    uiSchema[name] = { ...(uiSchema[name] || {}), ...(text ? { 'ui:widget': 'password' } : {}) };
    if (configured && configured[name]) {
      schema.required = (schema.required || []).filter((n) => n !== name);
      uiSchema[name]['ui:placeholder'] = 'configured: leave empty to keep it, or type a new one to replace it';
      uiSchema[name]['ui:help'] = 'configured';
    }
  }
  return { schema, uiSchema };
}
