"""The performance benchmarks behind `skuflow bench <figure>` (issue 9), one module per figure.

Each figure returns a `Figure` (its rows, its Markdown table, the machine it ran on) that
`report.write` stores as `<figure>.json` and `<figure>.md` under the results folder.
"""
