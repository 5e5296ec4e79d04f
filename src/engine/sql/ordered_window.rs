//! The window forms of AWS Clean Rooms SQL's ordered-set aggregates: `LISTAGG`,
//! `PERCENTILE_CONT` and `PERCENTILE_DISC` with `WITHIN GROUP (ORDER BY …) OVER (PARTITION BY
//! …)`. Each row gets the aggregate of its whole partition; the window takes no ORDER BY or
//! frame of its own. They are rewritten into window functions the engine has.

use datafusion::sql::sqlparser::ast::{Expr, Function, OrderByExpr, WindowType};

/// The engine's form of the window call `f` of the function `name` (lower case) when it is an
/// ordered-set aggregate, `None` for any other call; `args` are its plain arguments (`None`
/// when it has others, such as `DISTINCT`).
///
/// # Errors
/// A message naming the function when the window orders or frames its rows, or the call has
/// the wrong arguments.
pub fn rewrite(
    name: &str,
    args: Option<Vec<Expr>>,
    f: &Function,
) -> Result<Option<String>, String> {
    if !matches!(name, "listagg" | "percentile_cont" | "percentile_disc") {
        return Ok(None);
    }
    let Some(over) = &f.over else {
        return Ok(None);
    };
    let shown = name.to_ascii_uppercase();
    let partition = match over {
        WindowType::WindowSpec(spec) => {
            if !spec.order_by.is_empty() || spec.window_frame.is_some() {
                return Err(format!(
                    "{shown} takes only PARTITION BY in its window, no ORDER BY or frame"
                ));
            }
            if spec.window_name.is_some() {
                return Err(format!("{shown} takes no named window"));
            }
            list(&spec.partition_by)
        }
        WindowType::NamedWindow(_) => return Err(format!("{shown} takes no named window")),
    };
    let partition = if partition.is_empty() {
        String::new()
    } else {
        format!("PARTITION BY {partition}")
    };
    let Some(args) = args else {
        return Err(format!(
            "{shown} over a window takes plain arguments (no DISTINCT)"
        ));
    };
    let order = &f.within_group;
    if name == "listagg" {
        let (x, delimiter) = match args.as_slice() {
            [x] => (x.to_string(), "''".to_string()),
            [x, d] => (x.to_string(), d.to_string()),
            _ => {
                return Err(format!(
                    "Function '{shown}' takes 1 or 2 arguments, got {}",
                    args.len()
                ))
            }
        };
        // NULLs and empty strings are left out.
        let value = format!("string_agg(NULLIF(CAST({x} AS VARCHAR), ''), {delimiter})");
        return Ok(Some(if order.is_empty() {
            format!("{value} OVER ({partition})")
        } else {
            format!(
                "{value} OVER ({partition} ORDER BY {} ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)",
                order_list(order)
            )
        }));
    }
    let ([p], [key]) = (args.as_slice(), order.as_slice()) else {
        return Err(format!(
            "{shown} takes one percentile and WITHIN GROUP (ORDER BY one expression)"
        ));
    };
    let x = &key.expr;
    let descending = key.options.asc == Some(false);
    Ok(Some(if name == "percentile_cont" {
        let p = if descending {
            format!("1 - ({p})")
        } else {
            p.to_string()
        };
        format!("percentile_cont({x}, {p}) OVER ({partition})")
    } else {
        let direction = if descending { "DESC" } else { "ASC" };
        format!(
            "array_element(array_sort(array_agg({x}) OVER ({partition}), '{direction}', 'NULLS LAST'), greatest(CAST(ceil(({p}) * count({x}) OVER ({partition})) AS BIGINT), 1))"
        )
    }))
}

fn list(items: &[impl ToString]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn order_list(order: &[OrderByExpr]) -> String {
    list(order)
}
