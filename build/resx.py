#!/usr/bin/env python3
"""Writes src/Razor.Microkernel.Tasks/Strings.resx from build/messages.txt (one 'Key<TAB>message' per line).
Keeping the messages in a plain list makes them easy to review and to check against docs/errors.md."""
import sys, pathlib, html
root = pathlib.Path(__file__).resolve().parent.parent
src = root / "build" / "messages.txt"
out = root / "src" / "Razor.Microkernel.Tasks" / "Strings.resx"
rows = []
for line in src.read_text(encoding="utf-8").splitlines():
    if not line.strip() or line.startswith("#"):
        continue
    key, _, msg = line.partition("\t")
    rows.append((key.strip(), msg.strip()))
parts = ['<?xml version="1.0" encoding="utf-8"?>', "<root>",
         '  <resheader name="resmimetype"><value>text/microsoft-resx</value></resheader>',
         '  <resheader name="version"><value>2.0</value></resheader>',
         '  <resheader name="reader"><value>System.Resources.ResXResourceReader, System.Windows.Forms, Version=4.0.0.0, Culture=neutral, PublicKeyToken=b77a5c561934e089</value></resheader>',
         '  <resheader name="writer"><value>System.Resources.ResXResourceWriter, System.Windows.Forms, Version=4.0.0.0, Culture=neutral, PublicKeyToken=b77a5c561934e089</value></resheader>']
for key, msg in rows:
    parts.append(f'  <data name="{html.escape(key)}" xml:space="preserve"><value>{html.escape(msg, quote=False)}</value></data>')
parts.append("</root>")
out.write_text("\n".join(parts) + "\n", encoding="utf-8")
print(f"{len(rows)} messages -> {out.relative_to(root)}")
