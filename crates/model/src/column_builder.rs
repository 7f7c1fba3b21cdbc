//! Column builders, one per kind of `events` column.
//!
//! Primitive and boolean values go onto plain `Vec`s that become an array's buffer without a
//! copy; strings go through Arrow's `StringBuilder`, which knows its bytes are UTF-8 and so skips
//! the validation that building a `StringArray` from vectors costs. Validity is a bitmap that is
//! only allocated at a column's first null, so a column that got none has no validity buffer.
//! [`EventBatchBuilder`](crate::EventBatchBuilder) holds one builder per column; the kind of each
//! column is named once, in [`columns`](crate::columns).

use std::marker::PhantomData;
use std::sync::Arc;

use arrow_array::builder::{NullBufferBuilder, StringBuilder};
use arrow_array::{ArrayRef, ArrowPrimitiveType, BooleanArray, PrimitiveArray};
use arrow_schema::DataType;

/// A builder of one column: values are pushed one row at a time, then taken as one array.
pub trait ColumnBuilder {
    /// What one row holds: the value itself in a required column, an `Option` in a nullable one.
    type Value<'a>;
    /// Whether the column may hold nulls (the schema's `nullable`).
    const NULLABLE: bool;
    /// An empty builder with room for `rows` values of about `bytes_per_row` bytes each (for
    /// strings; other kinds ignore it).
    fn with_capacity(rows: usize, bytes_per_row: usize) -> Self;
    /// Appends one row's value.
    fn push(&mut self, value: Self::Value<'_>);
    /// The values pushed so far as an array of `data_type`; the builder starts empty again.
    ///
    /// # Panics
    /// If `data_type` is not the builder's kind of array (the column table is wrong).
    fn finish(&mut self, data_type: &DataType) -> ArrayRef;
}

/// Which rows of a nullable column hold a value: no bitmap until the first null.
#[derive(Debug)]
struct Validity(NullBufferBuilder);

impl Validity {
    fn with_capacity(rows: usize) -> Self {
        Self(NullBufferBuilder::new(rows))
    }

    #[inline]
    fn push(&mut self, valid: bool) {
        self.0.append(valid);
    }
}

/// A primitive column that never holds a null.
#[derive(Debug)]
pub struct Required<T: ArrowPrimitiveType> {
    values: Vec<T::Native>,
    kind: PhantomData<T>,
}

impl<T: ArrowPrimitiveType> ColumnBuilder for Required<T> {
    type Value<'a> = T::Native;
    const NULLABLE: bool = false;

    fn with_capacity(rows: usize, _bytes_per_row: usize) -> Self {
        Self {
            values: Vec::with_capacity(rows),
            kind: PhantomData,
        }
    }

    #[inline]
    fn push(&mut self, value: T::Native) {
        self.values.push(value);
    }

    fn finish(&mut self, data_type: &DataType) -> ArrayRef {
        let values = std::mem::take(&mut self.values);
        Arc::new(PrimitiveArray::<T>::new(values.into(), None).with_data_type(data_type.clone()))
    }
}

/// A primitive column that may hold nulls.
#[derive(Debug)]
pub struct Nullable<T: ArrowPrimitiveType> {
    values: Vec<T::Native>,
    validity: Validity,
}

impl<T: ArrowPrimitiveType> ColumnBuilder for Nullable<T> {
    type Value<'a> = Option<T::Native>;
    const NULLABLE: bool = true;

    fn with_capacity(rows: usize, _bytes_per_row: usize) -> Self {
        Self {
            values: Vec::with_capacity(rows),
            validity: Validity::with_capacity(rows),
        }
    }

    #[inline]
    fn push(&mut self, value: Option<T::Native>) {
        self.validity.push(value.is_some());
        self.values.push(value.unwrap_or_default());
    }

    fn finish(&mut self, data_type: &DataType) -> ArrayRef {
        let nulls = self.validity.0.finish();
        let values = std::mem::take(&mut self.values);
        Arc::new(PrimitiveArray::<T>::new(values.into(), nulls).with_data_type(data_type.clone()))
    }
}

/// A boolean column that may hold nulls.
#[derive(Debug)]
pub struct NullableBooleans {
    values: Vec<bool>,
    validity: Validity,
}

impl ColumnBuilder for NullableBooleans {
    type Value<'a> = Option<bool>;
    const NULLABLE: bool = true;

    fn with_capacity(rows: usize, _bytes_per_row: usize) -> Self {
        Self {
            values: Vec::with_capacity(rows),
            validity: Validity::with_capacity(rows),
        }
    }

    #[inline]
    fn push(&mut self, value: Option<bool>) {
        self.validity.push(value.is_some());
        self.values.push(value.unwrap_or_default());
    }

    fn finish(&mut self, data_type: &DataType) -> ArrayRef {
        assert_eq!(data_type, &DataType::Boolean, "a boolean column");
        let nulls = self.validity.0.finish();
        let values = BooleanArray::from(std::mem::take(&mut self.values));
        Arc::new(BooleanArray::new(values.values().clone(), nulls))
    }
}

/// A `Utf8` column that never holds a null.
///
/// Arrow's own builder: it knows its bytes are UTF-8 and so skips the validation that building a
/// `StringArray` from plain vectors costs.
#[derive(Debug)]
pub struct RequiredStrings(StringBuilder);

impl ColumnBuilder for RequiredStrings {
    type Value<'a> = &'a str;
    const NULLABLE: bool = false;

    fn with_capacity(rows: usize, bytes_per_row: usize) -> Self {
        Self(StringBuilder::with_capacity(rows, rows * bytes_per_row))
    }

    #[inline]
    fn push(&mut self, value: &str) {
        self.0.append_value(value);
    }

    fn finish(&mut self, data_type: &DataType) -> ArrayRef {
        assert_eq!(data_type, &DataType::Utf8, "a string column");
        Arc::new(self.0.finish())
    }
}

/// A `Utf8` column that may hold nulls.
#[derive(Debug)]
pub struct NullableStrings(StringBuilder);

impl ColumnBuilder for NullableStrings {
    type Value<'a> = Option<&'a str>;
    const NULLABLE: bool = true;

    fn with_capacity(rows: usize, bytes_per_row: usize) -> Self {
        Self(StringBuilder::with_capacity(rows, rows * bytes_per_row))
    }

    #[inline]
    fn push(&mut self, value: Option<&str>) {
        self.0.append_option(value);
    }

    fn finish(&mut self, data_type: &DataType) -> ArrayRef {
        assert_eq!(data_type, &DataType::Utf8, "a string column");
        Arc::new(self.0.finish())
    }
}
