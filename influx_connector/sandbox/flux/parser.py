"""A recursive-descent parser from Flux source to the AST JSON the real server returns.

Nodes are plain dicts shaped like libflux's serde output (``type`` first, then ``location``,
then the node's fields), so ``parse_ast`` can hand them to ``json.dumps`` unchanged and the
interpreter walks the very same structure. The parser stops at the first syntax error.

Precedence, loosest first: ``if/then/else``; ``or``; ``and``; ``not``/``exists``;
comparisons; ``+ -``; ``* / % ^``; ``|>``; unary ``+ -``; member, index and call postfixes.
"""
from __future__ import annotations

from typing import Any

from .lexer import Lexer, LineIndex, Token, syntax_error
from .literals import InterpolatedPart, TextPart, duration_values, regex_value, string_parts
from .timefmt import canonical_datetime_literal, parse_rfc3339

Node = dict[str, Any]

_COMPARISON = {"EQ": "==", "NEQ": "!=", "LT": "<", "LTE": "<=", "GT": ">", "GTE": ">=",
               "REGEXEQ": "=~", "REGEXNEQ": "!~"}
_ADDITIVE = {"ADD": "+", "SUB": "-"}
_MULTIPLICATIVE = {"MUL": "*", "DIV": "/", "MOD": "%", "POW": "^"}
_INT64_MAX = 2**63 - 1


class Parser:
    def __init__(self, source: str, index: LineIndex | None = None, start: int = 0, end: int | None = None) -> None:
        self.src = source
        self.index = index or LineIndex(source)
        self.toks = Lexer(source, self.index, start, end).tokens()
        self.i = 0
        # Start/end offsets per node, kept aside so the dicts stay pure JSON.
        self.spans: dict[int, tuple[int, int]] = {}

    # --- token helpers ------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> Token:
        return self.toks[min(self.i + ahead, len(self.toks) - 1)]

    def advance(self) -> Token:
        tok = self.peek()
        self.i = min(self.i + 1, len(self.toks) - 1)
        return tok

    def expect(self, kind: str) -> Token:
        if self.peek().kind != kind:
            self.fail(f"expected {kind}", self.peek())
        return self.advance()

    def fail(self, what: str, tok: Token) -> None:
        """Raise the real parser's ``expected X, got Y (text) at line:col`` message."""
        if tok.kind == "EOF":
            raise syntax_error(f"{what}, got EOF", self.index, tok.start)
        line, column = self.index.position(tok.start)
        raise syntax_error(f"{what}, got {tok.kind} ({tok.text}) at {line}:{column}", self.index, tok.start)

    # --- node helpers -------------------------------------------------------------------

    def make(self, kind: str, start: int, end: int, **fields: Any) -> Node:
        sl, sc = self.index.position(start)
        el, ec = self.index.position(end)
        node: Node = {
            "type": kind,
            "location": {
                "start": {"line": sl, "column": sc},
                "end": {"line": el, "column": ec},
                "source": self.src[start:end],
            },
        }
        node.update(fields)
        self.spans[id(node)] = (start, end)
        return node

    def start_of(self, node: Node) -> int:
        return self.spans[id(node)][0]

    def end_of(self, node: Node) -> int:
        return self.spans[id(node)][1]

    def identifier(self) -> Node:
        tok = self.expect("IDENT")
        return self.make("Identifier", tok.start, tok.end, name=tok.text)

    # --- file and statements ------------------------------------------------------------

    def parse_file(self) -> Node:
        first = self.peek()
        package = None
        if first.kind == "PACKAGE":
            self.advance()
            name = self.identifier()
            package = self.make("PackageClause", first.start, self.end_of(name), name=name)
        imports = []
        while self.peek().kind == "IMPORT":
            imports.append(self.parse_import())
        body = []
        while self.peek().kind != "EOF":
            body.append(self.parse_statement())
        last_end = self.toks[-2].end if len(self.toks) > 1 else first.start
        return self.make(
            "File", first.start, last_end, metadata="parser-type=rust", package=package, imports=imports, body=body
        )

    def parse_import(self) -> Node:
        start = self.advance().start
        alias = self.identifier() if self.peek().kind == "IDENT" else None
        tok = self.expect("STRING")
        path = self.string_literal(tok)
        if path["type"] != "StringLiteral":
            raise syntax_error("import path cannot be an interpolated string", self.index, tok.start)
        return self.make("ImportDeclaration", start, tok.end, **{"as": alias, "path": path})

    def parse_statement(self) -> Node:
        tok = self.peek()
        if tok.kind == "IDENT" and self.peek(1).kind == "ASSIGN":
            return self.parse_assignment()
        if tok.kind == "OPTION":
            self.advance()
            if self.peek(1).kind == "DOT":
                obj = self.identifier()
                self.expect("DOT")
                prop = self.identifier()
                member = self.make("MemberExpression", self.start_of(obj), self.end_of(prop), object=obj, property=prop)
                self.expect("ASSIGN")
                init = self.parse_expression()
                assignment = self.make("MemberAssignment", self.start_of(obj), self.end_of(init),
                                       member=member, init=init)
            else:
                assignment = self.parse_assignment()
            return self.make("OptionStatement", tok.start, self.end_of(assignment), assignment=assignment)
        if tok.kind == "RETURN":
            self.advance()
            argument = self.parse_expression()
            return self.make("ReturnStatement", tok.start, self.end_of(argument), argument=argument)
        expression = self.parse_expression()
        return self.make(
            "ExpressionStatement", self.start_of(expression), self.end_of(expression), expression=expression
        )

    def parse_assignment(self) -> Node:
        ident = self.identifier()
        self.expect("ASSIGN")
        init = self.parse_expression()
        return self.make("VariableAssignment", self.start_of(ident), self.end_of(init), id=ident, init=init)

    # --- expressions, loosest binding first -----------------------------------------------

    def parse_expression(self) -> Node:
        tok = self.peek()
        if tok.kind != "IF":
            return self.parse_or()
        self.advance()
        test = self.parse_expression()
        self.expect("THEN")
        consequent = self.parse_expression()
        self.expect("ELSE")
        alternate = self.parse_expression()
        return self.make(
            "ConditionalExpression", tok.start, self.end_of(alternate),
            test=test, consequent=consequent, alternate=alternate,
        )

    def parse_or(self) -> Node:
        left = self.parse_and()
        while self.peek().kind == "OR":
            self.advance()
            right = self.parse_and()
            left = self.make(
                "LogicalExpression", self.start_of(left), self.end_of(right), operator="or", left=left, right=right
            )
        return left

    def parse_and(self) -> Node:
        left = self.parse_not()
        while self.peek().kind == "AND":
            self.advance()
            right = self.parse_not()
            left = self.make(
                "LogicalExpression", self.start_of(left), self.end_of(right), operator="and", left=left, right=right
            )
        return left

    def parse_not(self) -> Node:
        tok = self.peek()
        if tok.kind in ("NOT", "EXISTS"):
            self.advance()
            argument = self.parse_not()
            return self.make("UnaryExpression", tok.start, self.end_of(argument), operator=tok.text, argument=argument)
        return self.parse_binary_level(0)

    _LEVELS = (_COMPARISON, _ADDITIVE, _MULTIPLICATIVE)

    def parse_binary_level(self, level: int) -> Node:
        """Left-associative binary operators: comparison, then additive, then multiplicative."""
        operand = self.parse_pipe if level == len(self._LEVELS) - 1 else lambda: self.parse_binary_level(level + 1)
        left = operand()
        operators = self._LEVELS[level]
        while self.peek().kind in operators:
            op = operators[self.advance().kind]
            right = operand()
            left = self.make(
                "BinaryExpression", self.start_of(left), self.end_of(right), operator=op, left=left, right=right
            )
        return left

    def parse_pipe(self) -> Node:
        left = self.parse_unary()
        while self.peek().kind == "PIPE_FORWARD":
            self.advance()
            target = self.peek()
            call = self.parse_unary()
            if call["type"] != "CallExpression":
                raise syntax_error("pipe destination must be a function call", self.index, target.start)
            left = self.make("PipeExpression", self.start_of(left), self.end_of(call), argument=left, call=call)
        return left

    def parse_unary(self) -> Node:
        tok = self.peek()
        if tok.kind in ("ADD", "SUB"):
            self.advance()
            argument = self.parse_unary()
            return self.make("UnaryExpression", tok.start, self.end_of(argument), operator=tok.text, argument=argument)
        return self.parse_postfix()

    def parse_postfix(self) -> Node:
        expr = self.parse_primary()
        while True:
            kind = self.peek().kind
            if kind == "DOT":
                self.advance()
                prop = self.identifier()
                expr = self.make("MemberExpression", self.start_of(expr), self.end_of(prop), object=expr, property=prop)
            elif kind == "LBRACK":
                self.advance()
                if self.peek().kind == "STRING" and self.peek(1).kind == "RBRACK":
                    prop = self.string_literal(self.advance())
                    end = self.expect("RBRACK").end
                    expr = self.make("MemberExpression", self.start_of(expr), end, object=expr, property=prop)
                else:
                    index = self.parse_expression()
                    end = self.expect("RBRACK").end
                    expr = self.make("IndexExpression", self.start_of(expr), end, array=expr, index=index)
            elif kind == "LPAREN":
                self.advance()
                fields: dict[str, Any] = {"callee": expr}
                properties = self.parse_properties("RPAREN")
                if properties:
                    # Named arguments travel as one object; an empty call has no "arguments".
                    fields["arguments"] = [
                        self.make("ObjectExpression", self.start_of(properties[0]), self.end_of(properties[-1]),
                                  properties=properties)
                    ]
                end = self.expect("RPAREN").end
                expr = self.make("CallExpression", self.start_of(expr), end, **fields)
            else:
                return expr

    def parse_properties(self, closing: str) -> list[Node]:
        """``key: value`` pairs (or bare ``key``) separated by commas, up to ``closing``."""
        properties = []
        while self.peek().kind != closing:
            tok = self.peek()
            if tok.kind == "IDENT":
                key = self.identifier()
            elif tok.kind == "STRING":
                key = self.string_literal(self.advance())
            else:
                self.fail(f"expected {closing}", tok)
            value = None
            if self.peek().kind == "COLON":
                self.advance()
                value = self.parse_expression()
            end = self.end_of(value if value is not None else key)
            properties.append(self.make("Property", self.start_of(key), end, key=key, value=value))
            if self.peek().kind != "COMMA":
                break
            self.advance()
        return properties

    def parse_primary(self) -> Node:
        tok = self.peek()
        kind = tok.kind
        if kind == "IDENT":
            return self.identifier()
        if kind == "INT":
            self.advance()
            if int(tok.text) > _INT64_MAX:
                raise syntax_error(f"invalid integer literal {tok.text}: value out of range", self.index, tok.start)
            return self.make("IntegerLiteral", tok.start, tok.end, value=str(int(tok.text)))
        if kind == "FLOAT":
            self.advance()
            return self.make("FloatLiteral", tok.start, tok.end, value=float(tok.text))
        if kind == "STRING":
            return self.string_literal(self.advance())
        if kind == "REGEX":
            self.advance()
            return self.make("RegexpLiteral", tok.start, tok.end, value=regex_value(tok.text))
        if kind == "DURATION":
            self.advance()
            return self.make("DurationLiteral", tok.start, tok.end, values=duration_values(tok.text))
        if kind == "TIME":
            self.advance()
            try:
                parse_rfc3339(tok.text)
                value = canonical_datetime_literal(tok.text)
            except ValueError:
                raise syntax_error(f"invalid date time literal {tok.text}", self.index, tok.start) from None
            return self.make("DateTimeLiteral", tok.start, tok.end, value=value)
        if kind == "PIPE_RECEIVE":
            self.advance()
            return self.make("PipeLiteral", tok.start, tok.end)
        if kind == "LBRACK":
            return self.parse_array()
        if kind == "LBRACE":
            return self.parse_object()
        if kind == "LPAREN":
            return self.parse_paren_or_function()
        if kind == "EOF":
            raise syntax_error("expected an expression, got EOF", self.index, tok.start)
        raise syntax_error(f"invalid token for primary expression: {kind} ({tok.text})", self.index, tok.start)

    def string_literal(self, tok: Token) -> Node:
        parts = string_parts(tok.text, tok.start, self.index)
        if len(parts) == 1 and isinstance(parts[0], TextPart):
            return self.make("StringLiteral", tok.start, tok.end, value=parts[0].value)
        nodes = []
        for part in parts:
            if isinstance(part, TextPart):
                nodes.append(self.make("TextPart", part.start, part.end, value=part.value))
            else:
                nodes.append(self.interpolation(part))
        return self.make("StringExpression", tok.start, tok.end, parts=nodes)

    def interpolation(self, part: InterpolatedPart) -> Node:
        inner = Parser(self.src, self.index, part.start, part.end)
        expression = inner.parse_expression()
        if inner.peek().kind != "EOF":
            inner.fail("expected RBRACE", inner.peek())
        return self.make("InterpolatedPart", part.start - 2, part.end + 1, expression=expression)

    def parse_array(self) -> Node:
        start = self.advance().start
        elements = []
        while self.peek().kind != "RBRACK":
            elements.append(self.parse_expression())
            if self.peek().kind != "COMMA":
                break
            self.advance()
        end = self.expect("RBRACK").end
        return self.make("ArrayExpression", start, end, elements=elements)

    def parse_object(self) -> Node:
        start = self.advance().start
        fields: dict[str, Any] = {}
        if self.peek().kind == "IDENT" and self.peek(1).kind == "WITH":
            fields["with"] = self.identifier()
            self.advance()
        fields["properties"] = self.parse_properties("RBRACE")
        end = self.expect("RBRACE").end
        return self.make("ObjectExpression", start, end, **fields)

    def parse_paren_or_function(self) -> Node:
        lparen = self.advance()
        first, second = self.peek(), self.peek(1)
        is_function = (
            (first.kind == "RPAREN" and second.kind == "ARROW")
            or (first.kind == "IDENT" and second.kind in ("ASSIGN", "COMMA"))
            or (first.kind == "IDENT" and second.kind == "RPAREN" and self.peek(2).kind == "ARROW")
        )
        if not is_function:
            expression = self.parse_expression()
            end = self.expect("RPAREN").end
            return self.make("ParenExpression", lparen.start, end, expression=expression)
        params = []
        while self.peek().kind != "RPAREN":
            key = self.identifier()
            value = None
            if self.peek().kind == "ASSIGN":
                self.advance()
                value = self.parse_expression()
            end = self.end_of(value if value is not None else key)
            params.append(self.make("Property", self.start_of(key), end, key=key, value=value))
            if self.peek().kind != "COMMA":
                break
            self.advance()
        self.expect("RPAREN")
        self.expect("ARROW")
        body = self.parse_block() if self.peek().kind == "LBRACE" else self.parse_expression()
        return self.make("FunctionExpression", lparen.start, self.end_of(body), params=params, body=body)

    def parse_block(self) -> Node:
        start = self.advance().start
        body = []
        while self.peek().kind not in ("RBRACE", "EOF"):
            body.append(self.parse_statement())
        end = self.expect("RBRACE").end
        return self.make("Block", start, end, body=body)


def parse_file(query: str) -> Node:
    """The ``File`` node for ``query``; raises FluxSyntaxError at the first syntax error."""
    return Parser(query).parse_file()
