//! Bounds on what SQL functions may build outside the memory pool.
//!
//! DataFusion's memory pool accounts for the buffers operators keep (sorts, joins,
//! aggregations), not for the values a scalar function returns: `repeat('x', 2000000000)`
//! allocates 2 GB in one call, and the planner's constant folding evaluates it before any query
//! runs. A scoped session registers bounded versions of the functions that can build values
//! much larger than their arguments, under the built-ins' names (so constant folding goes
//! through them too): from its arguments, each works out an upper bound of the bytes it would
//! return for the whole batch and refuses past [`FunctionLimits::output_bytes_max`] with
//! [`Error::FunctionLimit`], before calling the built-in. The table functions
//! `generate_series` and `range` are bounded in rows ([`FunctionLimits::series_rows_max`]).
//! The `||` operator on text, which can double a value at each level of nested subqueries,
//! is rewritten while planning into a bounded call that concatenates the same way, and so is
//! any call of a bounded function that the SQL planner built from the built-in directly (as
//! `[1] || [2]` becomes `array_concat`).

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, FieldRef, Int64Type, IntervalMonthDayNano};
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::tree_node::Transformed;
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::config::ConfigOptions;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::FunctionRegistry;
use datafusion::execution::context::SessionContext;
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::expr_rewriter::FunctionRewrite;
use datafusion::logical_expr::type_coercion::binary::string_coercion;
use datafusion::logical_expr::{
    BinaryExpr, ColumnarValue, Documentation, Expr, ExprSchemable, Operator, ReturnFieldArgs,
    ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::Error;

/// Bounds of the functions that build large values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FunctionLimits {
    /// Most bytes one call of a bounded function may return (one batch of rows, or one
    /// constant at planning). Default 64 MiB.
    pub output_bytes_max: u64,
    /// Most rows of the table functions `generate_series` and `range`. Default 100 000 000.
    pub series_rows_max: u64,
}

impl Default for FunctionLimits {
    fn default() -> Self {
        Self {
            output_bytes_max: 64 * 1024 * 1024,
            series_rows_max: 100_000_000,
        }
    }
}

/// How a bounded function's output size follows from its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Growth {
    /// `repeat(text, n)`: text × n.
    Repeat,
    /// `lpad/rpad(text, n [, fill])`: text + n characters of fill.
    Pad,
    /// `concat(a, b, ...)`: the sum.
    Concat,
    /// `concat_ws(separator, a, b, ...)`: the sum and a separator between each.
    ConcatWithSeparator,
    /// `replace(text, from, to)`: every `from` (or every gap, for an empty one) becomes `to`.
    Replace,
    /// `regexp_replace(text, pattern, replacement [, flags])`: every match (possibly empty)
    /// becomes the replacement, whose group references can each copy the text again.
    RegexpReplace,
    /// `range/generate_series([start,] stop [, step])` as arrays: 8 bytes per element.
    Series,
    /// `array_repeat(element, n)`: element × n.
    ArrayRepeat,
    /// `array_resize(array, n [, value])`: the array and n values.
    ArrayResize,
}

/// The functions bounded, by name (aliases follow the built-in's).
const BOUNDED: &[(&str, Growth)] = &[
    ("repeat", Growth::Repeat),
    ("lpad", Growth::Pad),
    ("rpad", Growth::Pad),
    ("concat", Growth::Concat),
    ("concat_ws", Growth::ConcatWithSeparator),
    ("replace", Growth::Replace),
    ("regexp_replace", Growth::RegexpReplace),
    ("range", Growth::Series),
    ("generate_series", Growth::Series),
    ("array_repeat", Growth::ArrayRepeat),
    ("array_resize", Growth::ArrayResize),
    ("array_concat", Growth::Concat),
];

/// Replaces the functions of [`BOUNDED`] and the series table functions in `context` with
/// bounded versions.
pub(crate) fn register(context: &SessionContext, limits: FunctionLimits) -> crate::Result<()> {
    let mut bounded = HashMap::new();
    for &(name, growth) in BOUNDED {
        // A function this build of DataFusion lacks cannot be called: nothing to bound.
        let Ok(inner) = context.udf(name) else {
            continue;
        };
        let udf = Arc::new(ScalarUDF::new_from_impl(Bounded {
            inner: inner.as_ref().clone(),
            growth,
            bytes_max: limits.output_bytes_max,
        }));
        context.register_udf(udf.as_ref().clone());
        bounded.insert(name.to_owned(), udf);
    }
    let text_concat = Arc::new(ScalarUDF::new_from_impl(BoundedTextConcat {
        signature: Signature::user_defined(Volatility::Immutable),
        bytes_max: limits.output_bytes_max,
    }));
    context
        .state_ref()
        .write()
        .register_function_rewrite(Arc::new(BoundedRewrite {
            bounded,
            text_concat,
        }))?;
    for name in ["generate_series", "range"] {
        let inner = context.table_function(name)?;
        context.register_udtf(
            name,
            Arc::new(BoundedSeries {
                name,
                inner: Arc::clone(inner.function()),
                rows_max: limits.series_rows_max,
            }),
        );
    }
    Ok(())
}

fn refuse(
    function: &str,
    amount: u128,
    unit: &'static str,
    limit: &'static str,
    max: u64,
) -> DataFusionError {
    DataFusionError::External(Box::new(Error::FunctionLimit {
        function: function.to_owned(),
        amount,
        unit,
        limit,
        amount_max: max,
    }))
}

/// A built-in scalar function behind a check of its output size.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Bounded {
    inner: ScalarUDF,
    growth: Growth,
    bytes_max: u64,
}

impl ScalarUDFImpl for Bounded {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn schema_name(&self, args: &[Expr]) -> DfResult<String> {
        self.inner.schema_name(args)
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> DfResult<DataType> {
        self.inner.return_type(arg_types)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> DfResult<FieldRef> {
        self.inner.return_field_from_args(args)
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> DfResult<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }

    fn short_circuits(&self) -> bool {
        self.inner.short_circuits()
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }

    // `simplify` is left out on purpose: the built-ins' rewrites (concat folding its literal
    // arguments) would build values without this check; constant folding still calls
    // `invoke_with_args`, which checks.
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let bytes = output_bytes(self.growth, &args.args, args.number_rows)?;
        if bytes > u128::from(self.bytes_max) {
            return Err(refuse(
                self.inner.name(),
                bytes,
                "bytes",
                "function_output_bytes_max",
                self.bytes_max,
            ));
        }
        self.inner.invoke_with_args(args)
    }
}

/// Per-row sizes of one argument: one value for a scalar, one per row for an array.
enum PerRow {
    Same(u128),
    Each(Vec<u128>),
}

impl PerRow {
    fn at(&self, row: usize) -> u128 {
        match self {
            Self::Same(value) => *value,
            Self::Each(values) => values.get(row).copied().unwrap_or(0),
        }
    }
}

/// Bytes of each value of `argument` (strings and binaries exactly, other values by their
/// memory size).
fn bytes_of(argument: &ColumnarValue) -> DfResult<PerRow> {
    Ok(match argument {
        ColumnarValue::Scalar(scalar) => PerRow::Same(scalar_bytes(scalar)),
        ColumnarValue::Array(array) => PerRow::Each(array_bytes(array)?),
    })
}

fn scalar_bytes(scalar: &ScalarValue) -> u128 {
    if scalar.is_null() {
        return 0;
    }
    match scalar {
        ScalarValue::Utf8(Some(text))
        | ScalarValue::LargeUtf8(Some(text))
        | ScalarValue::Utf8View(Some(text)) => text.len() as u128,
        ScalarValue::Binary(Some(bytes))
        | ScalarValue::LargeBinary(Some(bytes))
        | ScalarValue::BinaryView(Some(bytes)) => bytes.len() as u128,
        other => other.size() as u128,
    }
}

fn array_bytes(array: &ArrayRef) -> DfResult<Vec<u128>> {
    let lengths = |values: &mut dyn Iterator<Item = Option<usize>>| -> Vec<u128> {
        values.map(|value| value.unwrap_or(0) as u128).collect()
    };
    Ok(match array.data_type() {
        DataType::Utf8 => lengths(&mut array.as_string::<i32>().iter().map(|v| v.map(str::len))),
        DataType::LargeUtf8 => {
            lengths(&mut array.as_string::<i64>().iter().map(|v| v.map(str::len)))
        }
        DataType::Utf8View => lengths(&mut array.as_string_view().iter().map(|v| v.map(str::len))),
        DataType::Binary => {
            lengths(&mut array.as_binary::<i32>().iter().map(|v| v.map(<[u8]>::len)))
        }
        DataType::LargeBinary => {
            lengths(&mut array.as_binary::<i64>().iter().map(|v| v.map(<[u8]>::len)))
        }
        DataType::BinaryView => {
            lengths(&mut array.as_binary_view().iter().map(|v| v.map(<[u8]>::len)))
        }
        _ => {
            // Other values by their share of the array's memory: an upper bound for one value
            // on average, exact enough for a bound.
            let rows = array.len().max(1);
            let each = (array.to_data().get_slice_memory_size()? / rows).max(1) as u128;
            vec![each; array.len()]
        }
    })
}

/// Integer values of `argument` (NULL as 0, negative kept).
fn integers_of(argument: &ColumnarValue) -> DfResult<Vec<i128>> {
    let array = match argument {
        ColumnarValue::Scalar(scalar) => scalar.to_array_of_size(1)?,
        ColumnarValue::Array(array) => Arc::clone(array),
    };
    let array = arrow::compute::cast(&array, &DataType::Int64)?;
    Ok(array
        .as_primitive::<Int64Type>()
        .iter()
        .map(|value| i128::from(value.unwrap_or(0)))
        .collect())
}

/// `integers_of` as per-row values (a scalar once for every row).
fn counts_of(argument: &ColumnarValue) -> DfResult<PerRow> {
    let values = integers_of(argument)?;
    Ok(match argument {
        ColumnarValue::Scalar(_) => {
            PerRow::Same(values.first().copied().unwrap_or(0).max(0) as u128)
        }
        ColumnarValue::Array(_) => PerRow::Each(
            values
                .into_iter()
                .map(|value| value.max(0) as u128)
                .collect(),
        ),
    })
}

/// An upper bound of the bytes one call returns for `rows` rows.
fn output_bytes(growth: Growth, args: &[ColumnarValue], rows: usize) -> DfResult<u128> {
    let rows = rows.max(1);
    let sum = |per_row: &dyn Fn(usize) -> u128| -> u128 {
        (0..rows).map(per_row).fold(0u128, u128::saturating_add)
    };
    Ok(match (growth, args) {
        (Growth::Repeat, [text, count]) => {
            let (text, count) = (bytes_of(text)?, counts_of(count)?);
            sum(&|row| text.at(row).saturating_mul(count.at(row)))
        }
        (Growth::Pad, [text, length, rest @ ..]) => {
            let (text, length) = (bytes_of(text)?, counts_of(length)?);
            // A character of fill is at most 4 bytes, and at most the fill's bytes.
            let fill = match rest.first() {
                Some(fill) => bytes_of(fill)?,
                None => PerRow::Same(1),
            };
            sum(&|row| {
                text.at(row)
                    .saturating_add(length.at(row).saturating_mul(fill.at(row).clamp(1, 4)))
            })
        }
        (Growth::Concat, args) => {
            let parts = args.iter().map(bytes_of).collect::<DfResult<Vec<_>>>()?;
            sum(&|row| parts.iter().map(|part| part.at(row)).sum())
        }
        (Growth::ConcatWithSeparator, [separator, args @ ..]) => {
            let separator = bytes_of(separator)?;
            let parts = args.iter().map(bytes_of).collect::<DfResult<Vec<_>>>()?;
            let gaps = args.len().saturating_sub(1) as u128;
            sum(&|row| {
                parts.iter().map(|part| part.at(row)).sum::<u128>()
                    + separator.at(row).saturating_mul(gaps)
            })
        }
        (Growth::Replace, [text, from, to]) => {
            let (text, from, to) = (bytes_of(text)?, bytes_of(from)?, bytes_of(to)?);
            sum(&|row| {
                let matches = text.at(row) / from.at(row).max(1) + 1;
                text.at(row)
                    .saturating_add(matches.saturating_mul(to.at(row)))
            })
        }
        (Growth::RegexpReplace, [text, _pattern, replacement, ..]) => {
            let (text, replacement) = (bytes_of(text)?, bytes_of(replacement)?);
            // Up to text + 1 matches, each replaced by the replacement's text, whose group
            // references (2 bytes each at least) each copy at most the whole text overall.
            sum(&|row| {
                let (text, replacement) = (text.at(row), replacement.at(row));
                text.saturating_add((text + 1).saturating_mul(replacement))
                    .saturating_add((replacement / 2).saturating_mul(text))
            })
        }
        (Growth::Series, args) => series_elements(args, rows)?.saturating_mul(8),
        (Growth::ArrayRepeat, [element, count]) => {
            let (element, count) = (bytes_of(element)?, counts_of(count)?);
            sum(&|row| element.at(row).max(1).saturating_mul(count.at(row)))
        }
        (Growth::ArrayResize, [array, length, rest @ ..]) => {
            let (array, length) = (bytes_of(array)?, counts_of(length)?);
            let value = match rest.first() {
                Some(value) => bytes_of(value)?,
                None => PerRow::Same(8),
            };
            sum(&|row| {
                array
                    .at(row)
                    .saturating_add(length.at(row).saturating_mul(value.at(row).max(8)))
            })
        }
        // Argument counts the built-in refuses: let it say so.
        _ => 0,
    })
}

/// Elements of `range`/`generate_series` arrays over `rows` rows: integers exactly, dates and
/// timestamps from the span and the shortest the step can be (a month as 28 days).
fn series_elements(args: &[ColumnarValue], rows: usize) -> DfResult<u128> {
    let first_type = args.first().map(ColumnarValue::data_type);
    let is_time = matches!(
        first_type,
        Some(DataType::Date32 | DataType::Date64 | DataType::Timestamp(..))
    );
    let (starts, stops, steps): (Vec<i128>, Vec<i128>, Vec<i128>) = if is_time {
        let [start, stop, step] = args else {
            return Ok(0);
        };
        (time_nanos(start)?, time_nanos(stop)?, step_nanos(step)?)
    } else {
        match args {
            [stop] => (vec![0], integers_of(stop)?, vec![1]),
            [start, stop] => (integers_of(start)?, integers_of(stop)?, vec![1]),
            [start, stop, step] => (integers_of(start)?, integers_of(stop)?, integers_of(step)?),
            _ => return Ok(0),
        }
    };
    let at = |values: &[i128], row: usize| values.get(row).or(values.first()).copied().unwrap_or(0);
    Ok((0..rows)
        .map(|row| {
            let (start, stop, step) = (at(&starts, row), at(&stops, row), at(&steps, row));
            let span = stop - start;
            if step == 0 || span.signum() * step.signum() < 0 {
                0
            } else {
                (span / step).unsigned_abs() + 1
            }
        })
        .fold(0u128, u128::saturating_add))
}

/// Dates and timestamps as nanoseconds since the epoch.
fn time_nanos(argument: &ColumnarValue) -> DfResult<Vec<i128>> {
    let array = match argument {
        ColumnarValue::Scalar(scalar) => scalar.to_array_of_size(1)?,
        ColumnarValue::Array(array) => Arc::clone(array),
    };
    let Ok(nanos) = arrow::compute::cast(
        &array,
        &DataType::Timestamp(arrow::datatypes::TimeUnit::Nanosecond, None),
    ) else {
        return Ok(Vec::new());
    };
    let nanos = arrow::compute::cast(&nanos, &DataType::Int64)?;
    Ok(nanos
        .as_primitive::<Int64Type>()
        .iter()
        .map(|value| i128::from(value.unwrap_or(0)))
        .collect())
}

/// The shortest an interval step can be, in nanoseconds (a month as 28 days; sign kept).
fn step_nanos(argument: &ColumnarValue) -> DfResult<Vec<i128>> {
    const DAY_NANOS: i128 = 86_400_000_000_000;
    let array = match argument {
        ColumnarValue::Scalar(scalar) => scalar.to_array_of_size(1)?,
        ColumnarValue::Array(array) => Arc::clone(array),
    };
    // A step of another type is the built-in's to refuse: no bound from it (0 elements).
    let Ok(intervals) = arrow::compute::cast(
        &array,
        &DataType::Interval(arrow::datatypes::IntervalUnit::MonthDayNano),
    ) else {
        return Ok(Vec::new());
    };
    Ok(intervals
        .as_primitive::<arrow::datatypes::IntervalMonthDayNanoType>()
        .iter()
        .map(|value| {
            let IntervalMonthDayNano {
                months,
                days,
                nanoseconds,
            } = value.unwrap_or(IntervalMonthDayNano::ZERO);
            i128::from(months) * 28 * DAY_NANOS
                + i128::from(days) * DAY_NANOS
                + i128::from(nanoseconds)
        })
        .collect())
}

/// `generate_series` or `range` as a table, refused past a row count before it is planned.
#[derive(Debug)]
struct BoundedSeries {
    name: &'static str,
    inner: Arc<dyn TableFunctionImpl>,
    rows_max: u64,
}

impl TableFunctionImpl for BoundedSeries {
    fn call_with_args(&self, args: TableFunctionArgs) -> DfResult<Arc<dyn TableProvider>> {
        let literals: Option<Vec<ColumnarValue>> = args
            .exprs()
            .iter()
            .map(|expr| match expr {
                Expr::Literal(value, _) if !value.is_null() => {
                    Some(ColumnarValue::Scalar(value.clone()))
                }
                _ => None,
            })
            .collect();
        // Anything but non-NULL literals is the built-in's to refuse (or to answer empty).
        if let Some(literals) = literals {
            let rows = series_elements(&literals, 1)?;
            if rows > u128::from(self.rows_max) {
                return Err(refuse(
                    self.name,
                    rows,
                    "rows",
                    "series_rows_max",
                    self.rows_max,
                ));
            }
        }
        self.inner.call_with_args(args)
    }
}

/// Rewrites `a || b` of two texts into [`BoundedTextConcat`], and calls of the built-ins of
/// [`BOUNDED`] that did not come through the session's registry into their bounded versions.
#[derive(Debug)]
struct BoundedRewrite {
    bounded: HashMap<String, Arc<ScalarUDF>>,
    text_concat: Arc<ScalarUDF>,
}

impl FunctionRewrite for BoundedRewrite {
    fn name(&self) -> &str {
        "heatlake_bounded_functions"
    }

    fn rewrite(
        &self,
        expr: Expr,
        schema: &DFSchema,
        _config: &ConfigOptions,
    ) -> DfResult<Transformed<Expr>> {
        // Texts only (arrays and binaries keep the operator); a type not known yet is left to
        // the planner's own errors.
        let texts = |left: &Expr, right: &Expr| {
            matches!(
                (left.get_type(schema), right.get_type(schema)),
                (Ok(left), Ok(right)) if string_coercion(&left, &right).is_some()
            )
        };
        Ok(match expr {
            Expr::BinaryExpr(BinaryExpr {
                left,
                op: Operator::StringConcat,
                right,
            }) if texts(left.as_ref(), right.as_ref()) => {
                Transformed::yes(self.text_concat.call(vec![*left, *right]))
            }
            Expr::ScalarFunction(ScalarFunction { func, args })
                if !func.inner().is::<Bounded>() && self.bounded.contains_key(func.name()) =>
            {
                Transformed::yes(Expr::ScalarFunction(ScalarFunction {
                    func: Arc::clone(&self.bounded[func.name()]),
                    args,
                }))
            }
            other => Transformed::no(other),
        })
    }
}

/// `a || b` of two texts, refused past the output bound: NULL when either is NULL, the common
/// text type of both (as the operator: Utf8View over LargeUtf8 over Utf8).
#[derive(Debug, PartialEq, Eq, Hash)]
struct BoundedTextConcat {
    signature: Signature,
    bytes_max: u64,
}

impl ScalarUDFImpl for BoundedTextConcat {
    fn name(&self) -> &str {
        "||"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> DfResult<Vec<DataType>> {
        match arg_types {
            [left, right] => match string_coercion(left, right) {
                Some(common) => Ok(vec![common.clone(), common]),
                None => Err(DataFusionError::Plan(format!(
                    "|| of {left} and {right}: texts expected"
                ))),
            },
            _ => Err(DataFusionError::Plan("|| takes two texts".into())),
        }
    }

    fn return_type(&self, arg_types: &[DataType]) -> DfResult<DataType> {
        match arg_types {
            [left, right] => string_coercion(left, right)
                .ok_or_else(|| DataFusionError::Plan("|| takes two texts".into())),
            _ => Err(DataFusionError::Plan("|| takes two texts".into())),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let bytes = output_bytes(Growth::Concat, &args.args, args.number_rows)?;
        if bytes > u128::from(self.bytes_max) {
            return Err(refuse(
                "||",
                bytes,
                "bytes",
                "function_output_bytes_max",
                self.bytes_max,
            ));
        }
        let [left, right] = &args.args[..] else {
            return Err(DataFusionError::Plan("|| takes two texts".into()));
        };
        let rows = args.number_rows;
        let joined = arrow::compute::kernels::concat_elements::concat_elements_dyn(
            &left.to_array(rows)?,
            &right.to_array(rows)?,
        )?;
        Ok(ColumnarValue::Array(joined))
    }
}
